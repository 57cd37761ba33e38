// The token form shown when a page has no (valid) token.
import { el } from './api.js';
import { t } from './i18n.js';

export function loginForm(root, title, onToken, error = '') {
  const input = el('input', { type: 'password', id: 'token', placeholder: t('token_hint'), autocomplete: 'current-password', required: true });
  root.replaceChildren(
    el('form', { class: 'login', onsubmit: (e) => { e.preventDefault(); onToken(input.value.trim()); } },
      el('h1', {}, title),
      el('label', {}, t('token'), input),
      error ? el('div', { class: 'error' }, error) : null,
      el('button', { class: 'primary', type: 'submit' }, t('login'))));
  input.focus();
}
