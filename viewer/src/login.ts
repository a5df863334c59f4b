// Logging in and out: the "Inloggen" button in the top bar opens a modal dialog (labels, Escape
// closes, Tab stays inside, the server's problem+json detail as the error); once logged in the bar
// shows a badge with the user's name and roles and "Uitloggen" (revokes the token, then forgets it).

import { ApiError, apiFetch, errorText, getJson, getSession, onSessionChange, problemOf, setSession, type Session } from './api';
import { clear, h, uid } from './dom';
import { hooks } from './hooks';
import { onLangChange, t, tMaybe } from './i18n';

interface IssuedToken {
  access_token: string;
  token_type: string;
  expires_in: number;
  roles?: string[];
}

interface Me {
  subject: string;
  roles: string[];
  expires_at?: number | string | null;
  clearance?: string;
}

let area: HTMLElement | null = null;
let liveRegion: HTMLElement | null = null;
let dialog: HTMLDialogElement | null = null;
let opener: HTMLElement | null = null;
/** A message next to the login button: "session expired" or "logged out" (a live region). */
let notice: { key: 'sessionExpired' | 'loggedOut' | 'loggedIn'; error: boolean } | null = null;
/** How long "logged out" stays in the top bar (ms); "session expired" stays until the next login. */
const NOTICE_MS = 10_000;

/** Milliseconds since the epoch from /v1/auth/me's expires_at (epoch seconds or an ISO date). */
function expiryOf(value: Me['expires_at'], fallbackMs: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return fallbackMs;
}

function sessionFrom(token: string, me: Me, fallbackExpiry: number): Session {
  return {
    token,
    subject: me.subject,
    roles: me.roles ?? [],
    expiresAt: expiryOf(me.expires_at, fallbackExpiry),
    clearance: me.clearance ?? 'open',
  };
}

/** OAuth2 password grant, then /v1/auth/me with the new token for the name, roles and clearance. */
export async function logIn(username: string, password: string): Promise<Session> {
  const response = await apiFetch(
    '/v1/auth/token',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'password', username, password }),
    },
    true,
  );
  if (!response.ok) throw await problemOf(response);
  const issued = (await response.json()) as IssuedToken;
  const fallbackExpiry = Date.now() + (issued.expires_in || 3600) * 1000;
  let me: Me = { subject: username, roles: issued.roles ?? [] };
  const answer = await apiFetch('/v1/auth/me', { headers: { Accept: 'application/json', Authorization: `Bearer ${issued.access_token}` } }, true);
  if (answer.ok) me = { ...me, ...((await answer.json()) as Me) };
  const session = sessionFrom(issued.access_token, me, fallbackExpiry);
  setSession(session, 'login');
  return session;
}

/** Revoke the token on the server (best effort), then forget it. */
export async function logOut(): Promise<void> {
  const session = getSession();
  if (!session) return;
  try {
    await apiFetch('/v1/auth/revoke', { method: 'POST', headers: { Accept: 'application/json', Authorization: `Bearer ${session.token}` } }, true);
  } catch {
    // offline or already revoked: forgetting the token is what matters here
  }
  setSession(null, 'logout');
}

/** A stored session from an earlier page in this tab: ask the server who it is (401 ends it). */
async function checkStoredSession(): Promise<void> {
  const session = getSession();
  if (!session) return;
  try {
    const me = await getJson<Me>('/v1/auth/me');
    const current = getSession();
    if (current?.token === session.token) setSession(sessionFrom(session.token, me, session.expiresAt), 'refreshed');
  } catch {
    // a 401 has ended the session already (apiFetch); other errors leave it as it was
  }
}

/** The roles for display; everyone is also "public", which is said only when there is no other. */
export function roleNames(roles: string[]): string {
  const shown = roles.filter((role) => role !== 'public');
  return (shown.length > 0 ? shown : ['public']).map((role) => tMaybe(`role_${role}`, role)).join(', ');
}

function render(): void {
  if (!area) return;
  const hadFocus = Boolean(document.activeElement && area.contains(document.activeElement));
  const focused = hadFocus ? (document.activeElement as HTMLElement).dataset.testid : undefined;
  clear(area);
  const session = getSession();
  hooks.session = session ? { subject: session.subject, roles: [...session.roles], clearance: session.clearance } : null;
  const text = notice ? (notice.key === 'loggedIn' && session ? t('loggedIn', { name: session.subject, roles: roleNames(session.roles) }) : t(notice.key)) : '';
  if (liveRegion) liveRegion.textContent = text;
  // "logged in as" is for screen readers only (the badge shows it); the others are shown too
  const message = notice && notice.key !== 'loggedIn' ? h('span', { class: `session-notice${notice.error ? ' error' : ''}`, 'data-testid': 'session-notice', 'aria-hidden': 'true' }, text) : null;
  if (session) {
    area.append(
      message ?? '',
      h(
        'span',
        { class: 'badge role-badge', 'data-testid': 'role-badge', 'data-roles': session.roles.join(' '), title: t('rolesLabel', { roles: roleNames(session.roles) }) },
        h('span', { class: 'sr-only' }, `${t('loggedInAs', { name: '' })}`),
        h('strong', {}, session.subject),
        ` · ${roleNames(session.roles)}`,
      ),
      h('button', { type: 'button', class: 'topbar-button', 'data-testid': 'logout-button', onclick: () => void logOut() }, t('logoutButton')),
    );
  } else {
    area.append(
      message ?? '',
      h('button', { type: 'button', class: 'topbar-button', 'data-testid': 'login-button', 'aria-haspopup': 'dialog', onclick: (event: Event) => openLogin(event.currentTarget as HTMLElement) }, t('loginButton')),
    );
  }
  // the button that had focus may be gone (logged out: "Uitloggen" became "Inloggen"): keep the
  // keyboard user in the same place
  if (hadFocus) (area.querySelector<HTMLElement>(`[data-testid="${focused}"]`) ?? area.querySelector<HTMLElement>('button'))?.focus();
}

/** Open the login dialog; focus returns to ``from`` when it closes. */
export function openLogin(from: HTMLElement | null = null): void {
  if (!dialog) return;
  opener = from ?? (document.activeElement as HTMLElement | null);
  renderDialog();
  dialog.showModal();
  dialog.querySelector<HTMLInputElement>('input[name="username"]')?.focus();
}

function closeLogin(): void {
  if (!dialog?.open) return;
  dialog.close();
}

function renderDialog(error = ''): void {
  if (!dialog) return;
  const username = dialog.querySelector<HTMLInputElement>('input[name="username"]')?.value ?? '';
  clear(dialog);
  const userId = uid('login-user');
  const passwordId = uid('login-password');
  const errorId = uid('login-error');
  const status = h('p', { class: 'login-status small muted', role: 'status' });
  const errorLine = h('p', { id: errorId, class: 'error', role: 'alert', 'data-testid': 'login-error', hidden: !error }, error);
  const userInput = h('input', { id: userId, name: 'username', type: 'text', autocomplete: 'username', required: true, value: username, 'data-testid': 'login-username', 'aria-describedby': errorId, autocapitalize: 'none', spellcheck: 'false' });
  const passwordInput = h('input', { id: passwordId, name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password', 'aria-describedby': errorId });
  if (error) userInput.setAttribute('aria-invalid', 'true');
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, t('loginSubmit'));
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    h('h2', { id: 'login-title' }, t('loginTitle')),
    h('p', { class: 'small muted' }, t('loginIntro')),
    h('div', { class: 'field' }, h('label', { for: userId }, t('loginUsername')), userInput),
    h('div', { class: 'field' }, h('label', { for: passwordId }, t('loginPassword')), passwordInput),
    errorLine,
    status,
    h('div', { class: 'buttons' }, submit, h('button', { type: 'button', 'data-testid': 'login-cancel', onclick: () => closeLogin() }, t('loginCancel'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = userInput.value.trim();
    const password = passwordInput.value;
    if (!name || !password) {
      showError(t('loginMissing'), !name ? userInput : passwordInput);
      return;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    status.textContent = t('loginBusy');
    logIn(name, password)
      .then(() => closeLogin())
      .catch((caught: unknown) => {
        let message = t('loginFailed', { error: errorText(caught) });
        if (caught instanceof ApiError && caught.retryAfterS) message += ` ${t('loginRetryAfter', { seconds: Math.ceil(caught.retryAfterS) })}`;
        showError(message, passwordInput);
      });
  });
  dialog.append(form);

  function showError(message: string, focus: HTMLInputElement): void {
    submit.disabled = false;
    submit.removeAttribute('aria-busy');
    status.textContent = '';
    errorLine.textContent = message;
    errorLine.hidden = false;
    userInput.setAttribute('aria-invalid', 'true');
    passwordInput.setAttribute('aria-invalid', 'true');
    focus.select();
    focus.focus();
  }
}

/** Tab and Shift+Tab cycle through the dialog's controls (the page behind is inert anyway). */
function trapFocus(event: KeyboardEvent): void {
  if (event.key !== 'Tab' || !dialog) return;
  const controls = [...dialog.querySelectorAll<HTMLElement>('input, button, select, textarea, a[href]')].filter((element) => !element.hasAttribute('disabled') && !element.hidden);
  const first = controls[0];
  const last = controls.at(-1);
  if (!first || !last) return;
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

export function isLoginOpen(): boolean {
  return Boolean(dialog?.open);
}

export function mountLogin(element: HTMLElement): void {
  area = element;
  liveRegion = h('span', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  element.after(liveRegion);
  dialog = h('dialog', { class: 'login-dialog', 'data-testid': 'login-dialog', 'aria-labelledby': 'login-title' });
  dialog.addEventListener('keydown', (event) => {
    trapFocus(event);
    // Escape closes the dialog only (not also the dashboard or the info panel behind it)
    if (event.key === 'Escape') event.stopPropagation();
  });
  dialog.addEventListener('close', () => {
    const target = opener && opener.isConnected ? opener : area?.querySelector<HTMLElement>('button');
    target?.focus();
    opener = null;
  });
  document.body.append(dialog);
  onSessionChange((_session, change) => {
    if (change === 'expired') notice = { key: 'sessionExpired', error: true };
    else if (change === 'logout') {
      const shown = (notice = { key: 'loggedOut', error: false });
      setTimeout(() => {
        if (notice !== shown) return;
        notice = null;
        render();
      }, NOTICE_MS);
    }
    else if (change === 'login') notice = { key: 'loggedIn', error: false };
    render();
  });
  onLangChange(() => {
    render();
    if (dialog?.open) renderDialog();
  });
  render();
  void checkStoredSession();
}
