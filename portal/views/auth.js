// Log in, accept an invitation (choose username and password), and the page staff see.
import { t } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, field, fieldError, busy, errorText, choice } from '/dom.js';

function passwordToggle(input) {
  const c = choice({
    type: 'checkbox', id: `${input.id}-show`, label: t.login.show,
    onchange: () => { input.type = c.input.checked ? 'text' : 'password'; },
  });
  c.wrap.classList.add('compact');
  return c.wrap;
}

/** Before anyone is logged in the language is a choice of the phone; this switches it. */
function languageSwitch(ctx) {
  const [code, label] = t.login.otherLanguage;
  return h('p', { class: 'lang-switch' }, h('button', {
    type: 'button', id: 'lang-switch', class: 'btn-link', lang: code,
    onclick: async () => {
      await ctx.setLanguage(code);
      await ctx.rerender();
      document.getElementById('lang-switch')?.focus();
    },
  }, label));
}

function formError() {
  return h('div', { class: 'notice error', role: 'alert', hidden: true });
}

function showFormError(box, text) {
  fill(box, h('p', null, text));
  box.hidden = !text;
}

export function loginView(ctx) {
  const notice = ctx.takeNotice();
  const user = field({ label: t.login.username, name: 'username', attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true } });
  const pass = field({ label: t.login.password, type: 'password', name: 'password', attrs: { autocomplete: 'current-password', required: true } });
  const err = formError();
  const submit = h('button', { type: 'submit', class: 'btn' }, t.login.submit);

  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(err, '');
      const username = user.input.value.trim();
      const password = pass.input.value;
      if (!username || !password) {
        showFormError(err, t.login.missing);
        (username ? pass.input : user.input).focus();
        return;
      }
      await busy(submit, t.login.busy, async () => {
        try {
          await api.login(username, password);
          await ctx.loggedIn(ctx.query.get('next'));
        } catch (e2) {
          const s = e2 instanceof api.ApiError ? e2.status : -1;
          showFormError(err, s === 401 || s === 400 ? t.login.wrong : errorText(e2));
          pass.input.value = '';
          pass.input.focus();
        }
      });
    },
  }, err, user.wrap, pass.wrap, passwordToggle(pass.input), submit);

  return h('section', { class: 'narrow' },
    languageSwitch(ctx),
    h('h1', null, t.login.title),
    notice ? h('div', { class: 'notice', role: 'status' }, h('p', null, notice)) : null,
    h('p', null, t.login.intro),
    form,
    h('div', { class: 'aside' },
      h('p', null, t.login.haveCode, ' ', h('a', { href: '/invitation' }, t.login.createProfile)),
      h('p', { class: 'muted' }, t.login.forgot)));
}

const USERNAME = /^[a-z0-9._-]+$/;

export function invitationView(ctx) {
  const code = field({ label: t.invite.code, name: 'code', hint: t.invite.codeHint, attrs: { autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false', maxlength: 64, required: true } });
  const user = field({ label: t.invite.username, name: 'username', hint: t.invite.usernameHint, attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: 64, required: true } });
  const pass = field({ label: t.invite.password, type: 'password', name: 'password', hint: t.invite.passwordHint, attrs: { autocomplete: 'new-password', maxlength: 128, required: true } });
  const prefill = ctx.params.code || ctx.query.get('code');
  if (prefill) code.input.value = prefill;
  const err = formError();
  const submit = h('button', { type: 'submit', class: 'btn' }, t.invite.submit);

  const check = () => {
    const c = code.input.value.trim();
    const u = user.input.value.trim().toLowerCase();
    const p = pass.input.value;
    const problems = [
      [code.input, c ? '' : t.invite.codeMissing],
      [user.input, u.length < 3 ? t.invite.usernameShort : USERNAME.test(u) ? '' : t.invite.usernameChars],
      [pass.input, p.length < 10 ? t.invite.passwordShort : ''],
    ];
    for (const [input, msg] of problems) fieldError(input, msg);
    const first = problems.find(([, msg]) => msg);
    if (first) first[0].focus();
    return first ? null : { c, u, p };
  };

  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(err, '');
      const ok = check();
      if (!ok) return;
      await busy(submit, t.invite.busy, async () => {
        try {
          await api.acceptInvitation(ok.c, ok.u, ok.p);
          await ctx.loggedIn('/');
        } catch (e2) {
          const s = e2 instanceof api.ApiError ? e2.status : -1;
          const fields = e2 instanceof api.ApiError ? e2.fields : {};
          if (s === 404) {
            fieldError(code.input, t.invite.badCode);
            code.input.focus();
          } else if (s === 409 || fields.username) {
            fieldError(user.input, s === 409 ? t.invite.usernameTaken : t.invite.usernameChars);
            user.input.focus();
          } else if (fields.password) {
            fieldError(pass.input, t.invite.passwordShort);
            pass.input.focus();
          } else {
            showFormError(err, errorText(e2));
          }
        }
      });
    },
  }, err, code.wrap, user.wrap, pass.wrap, passwordToggle(pass.input), submit);

  return h('section', { class: 'narrow' },
    languageSwitch(ctx),
    h('h1', null, t.invite.title),
    h('p', null, t.invite.intro),
    form,
    h('div', { class: 'aside' },
      h('p', null, t.invite.haveProfile, ' ', h('a', { href: '/login' }, t.login.submit))));
}

export function staffView(ctx) {
  return h('section', { class: 'narrow' },
    h('h1', null, t.titles.staff),
    h('p', null, t.staffOnly.text),
    h('button', { type: 'button', class: 'btn secondary', onclick: () => ctx.logout() }, t.staffOnly.logout));
}
