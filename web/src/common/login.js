// The token form shown when a page has no (valid) token.
import { ApiError, call, el } from './api.js';
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

// The page's token and who it is (GET /api/v1/me), or null after showing the form (no token, or
// one the center refused); `then` runs again once a token is entered. `offline(error)` may give
// a stored answer when the center cannot be reached (the worker's phone without a signal).
export async function signIn(token, root, title, then, offline = () => null) {
  const ask = (error) => loginForm(root, title, (v) => { token.set(v); then(); }, error);
  const tok = token.get();
  if (!tok) return ask(), null;
  try {
    return { token: tok, me: await call('/api/v1/me', { token: tok }) };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      token.clear();
      return ask(e.message), null;
    }
    const me = offline(e);
    if (!me) throw e;
    return { token: tok, me };
  }
}
