/**
 * The public feedback page `/feedback/{code}` (a room's or a service's), for a phone that scanned
 * its printed QR code: a 1–5 score, categories and a comment, Chinese by default (`?lang=en` for
 * English). No framework: a form and a small script served from the same origin
 * (`/feedback/feedback.js`, so the strict Content-Security-Policy holds), which posts JSON to
 * `POST /api/v1/feedback`. Every name shown is escaped.
 */

import type { Name } from '../core/facility/schema.ts';
import { MAX_COMMENT_LENGTH } from '../core/management/feedback.ts';
import { FEEDBACK_CATEGORIES, FEEDBACK_CATEGORY_LABELS } from '../core/management/model.ts';
import { escapeHtml as e } from '../core/management/report-html.ts';

export type Lang = 'zh' | 'en';

const TEXT = {
  zh: {
    title: '满意度评价',
    score: '您的满意度',
    scores: ['很不满意', '不满意', '一般', '满意', '很满意'],
    categories: '遇到的问题（可多选）',
    comment: '留言（选填）',
    send: '提交',
    sent: '感谢您的评价！',
    unknown: '未找到该二维码对应的房间或服务。',
    privacy: '评价为匿名；同一房间或服务每天可评价一次。',
    other: 'English',
  },
  en: {
    title: 'Feedback',
    score: 'How satisfied are you?',
    scores: ['Very unhappy', 'Unhappy', 'OK', 'Happy', 'Very happy'],
    categories: 'What was wrong (any)',
    comment: 'Comment (optional)',
    send: 'Send',
    sent: 'Thank you for your feedback!',
    unknown: 'This code is not a room or service of the compound.',
    privacy: 'Anonymous; one answer per room or service a day.',
    other: '中文',
  },
} as const;

const STYLE = `body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;max-width:520px;margin:auto;color:#222}
h1{font-size:20px;margin:4px 0}.place{color:#555;margin-bottom:12px}fieldset{border:0;padding:0;margin:14px 0}
legend{font-weight:bold;margin-bottom:6px}.scores{display:flex;gap:6px}.scores label{flex:1;text-align:center;border:1px solid #bbb;border-radius:8px;padding:8px 2px;font-size:12px}
.scores input{display:block;margin:0 auto 4px}.cats label{display:inline-block;border:1px solid #bbb;border-radius:16px;padding:6px 10px;margin:3px}
textarea{width:100%;box-sizing:border-box;min-height:90px;font-size:15px}button{width:100%;padding:12px;font-size:17px;background:#2e86c1;color:#fff;border:0;border-radius:8px}
.status{margin-top:12px;font-weight:bold}.note{color:#777;font-size:12px;margin-top:16px}a{color:#2e86c1}`;

/** The page of a known subject. */
export function feedbackPage(options: {
  readonly kind: 'room' | 'service';
  readonly id: string;
  readonly name: Name;
  readonly place?: Name;
  readonly lang: Lang;
}): string {
  const t = TEXT[options.lang];
  const name = options.name[options.lang];
  const other = options.lang === 'zh' ? 'en' : 'zh';
  return `<!doctype html>
<html lang="${options.lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(t.title)} · ${e(name)}</title>
<style>${STYLE}</style></head><body>
<h1>${e(t.title)}</h1><div class="place">${e(name)}${options.place ? ` · ${e(options.place[options.lang])}` : ''}</div>
<form id="feedback" data-kind="${e(options.kind)}" data-id="${e(options.id)}" data-sent="${e(t.sent)}">
<fieldset><legend>${e(t.score)}</legend><div class="scores">${[1, 2, 3, 4, 5]
    .map(
      (s) =>
        `<label><input type="radio" name="score" value="${s}" required>${s}<br>${e(t.scores[s - 1] as string)}</label>`,
    )
    .join('')}</div></fieldset>
<fieldset><legend>${e(t.categories)}</legend><div class="cats">${FEEDBACK_CATEGORIES.map(
    (c) =>
      `<label><input type="checkbox" name="categories" value="${c}"> ${e(FEEDBACK_CATEGORY_LABELS[c][options.lang])}</label>`,
  ).join('')}</div></fieldset>
<fieldset><legend><label for="comment">${e(t.comment)}</label></legend><textarea id="comment" name="comment" maxlength="${MAX_COMMENT_LENGTH}"></textarea></fieldset>
<button type="submit">${e(t.send)}</button><div class="status" id="status" role="status" aria-live="polite"></div>
</form>
<p class="note">${e(t.privacy)} <a href="?lang=${other}">${e(t.other)}</a></p>
<script src="/feedback/feedback.js"></script>
</body></html>`;
}

/** The page of a code that is no room or service. */
export function unknownPage(lang: Lang): string {
  const t = TEXT[lang];
  return `<!doctype html><html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(t.title)}</title><style>${STYLE}</style></head><body><h1>${e(t.title)}</h1><p>${e(t.unknown)}</p></body></html>`;
}

/** The page's script: posts the form as JSON; shows the answer's message or the error's. */
export const FEEDBACK_SCRIPT = `'use strict';
(function () {
  var form = document.getElementById('feedback');
  var status = document.getElementById('status');
  if (!form) return;
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var body = { score: Number(data.get('score')), categories: data.getAll('categories'), comment: String(data.get('comment') || '') };
    body[form.dataset.kind] = form.dataset.id;
    var button = form.querySelector('button');
    button.disabled = true;
    fetch('/api/v1/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify(body) })
      .then(function (response) { return response.json().then(function (json) { return { ok: response.ok, json: json }; }); })
      .then(function (result) {
        if (result.ok) { status.textContent = form.dataset.sent; form.querySelectorAll('input,textarea').forEach(function (x) { x.disabled = true; }); }
        else { status.textContent = (result.json && result.json.error && result.json.error.message) || 'error'; button.disabled = false; }
      })
      .catch(function () { status.textContent = 'network error 网络错误'; button.disabled = false; });
  });
})();
`;
