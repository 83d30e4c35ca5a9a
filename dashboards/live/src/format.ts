/**
 * Numbers, times and errors as the operator reads them: numbers by `Intl.NumberFormat` of the
 * page's language (zh-CN by default), times in the site's time zone, errors in words.
 */
import { useI18n } from 'vue-i18n';
import { ApiError } from './api/client.ts';
import type { Name } from './api/types.ts';
import { type Locale, nameOf } from './domain.ts';
import { facility } from './facility.ts';

const numberFormats = new Map<string, Intl.NumberFormat>();

/** `value` with `digits` decimals (fewer when they are zeros), grouped as the language groups. */
export function formatNumber(value: number, digits: number, locale: Locale): string {
  const key = `${locale}|${digits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale === 'en' ? 'en-US' : 'zh-CN', {
      maximumFractionDigits: digits,
      minimumFractionDigits: 0,
    });
    numberFormats.set(key, format);
  }
  return format.format(value);
}

function timezone(): string {
  return facility.value?.site.timezone ?? 'Asia/Shanghai';
}

export function useFormat() {
  const { locale } = useI18n();
  const lang = (): Locale => (locale.value === 'en' ? 'en' : 'zh-CN');
  const intl = (): string => (lang() === 'en' ? 'en-GB' : 'zh-CN');
  return {
    lang,
    /** A number, or a dash for none. */
    num: (value: number | null | undefined, digits = 1): string =>
      value === null || value === undefined || !Number.isFinite(value)
        ? '—'
        : formatNumber(value, digits, lang()),
    /** A share 0–1 as a percentage. */
    share: (value: number | null | undefined, digits = 1): string =>
      value === null || value === undefined ? '—' : `${formatNumber(value * 100, digits, lang())} %`,
    /** A percentage already 0–100. */
    pct: (value: number | null | undefined, digits = 1): string =>
      value === null || value === undefined ? '—' : `${formatNumber(value, digits, lang())} %`,
    name: (value: Name | string | null | undefined, fallback = ''): string => nameOf(value, lang(), fallback),
    /** What an alert is about, in the page's language. */
    subject: (subject: { name: Name | string | null; nameEn?: string; id: string }): string =>
      lang() === 'en' && subject.nameEn ? subject.nameEn : nameOf(subject.name, lang(), subject.id),
    /** Clock time in the site's zone, `HH:mm:ss` (or `HH:mm`). */
    time: (instant: string | number | null | undefined, seconds = true): string =>
      instant === null || instant === undefined
        ? '—'
        : new Intl.DateTimeFormat(intl(), {
            timeZone: timezone(),
            hour: '2-digit',
            minute: '2-digit',
            ...(seconds ? { second: '2-digit' } : {}),
            hourCycle: 'h23',
          }).format(typeof instant === 'number' ? instant : Date.parse(instant)),
    /** Date and time in the site's zone. */
    dateTime: (instant: string | number | null | undefined): string =>
      instant === null || instant === undefined
        ? '—'
        : new Intl.DateTimeFormat(intl(), {
            timeZone: timezone(),
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          }).format(typeof instant === 'number' ? instant : Date.parse(instant)),
  };
}

type Translate = (key: string, values?: Record<string, unknown>) => string;

/** An error as a sentence in the page's language, with the api's own words where it gave some. */
export function describeError(error: unknown, t: Translate): string {
  if (error instanceof ApiError) {
    switch (error.status) {
      case 0:
        return t('errors.network');
      case 401:
        return t('errors.unauthorized');
      case 403:
        return t('errors.forbidden');
      case 404:
        return t('errors.notFound');
      case 429:
        return t('errors.rateLimited');
      case 503:
        return t('errors.unavailable');
      default:
        return t('errors.server', { message: error.message });
    }
  }
  return t('errors.unexpected', { message: error instanceof Error ? error.message : String(error) });
}
