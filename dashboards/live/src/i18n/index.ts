/**
 * Chinese by default, English by the switch in the header; the choice is kept in this browser.
 * Every label of the page goes through these tables.
 */
import { createI18n } from 'vue-i18n';
import type { Locale } from '../domain.ts';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

const KEY = 'sfp.live.locale';

function initialLocale(): Locale {
  const kept = localStorage.getItem(KEY);
  return kept === 'en' ? 'en' : 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(KEY, locale);
  document.documentElement.lang = locale;
}

document.documentElement.lang = initialLocale();
