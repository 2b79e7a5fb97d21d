// Pause or stop: what happens, calmly and without guilt; ask, confirm, see the request's state, take it back,
// and start again after a pause.
import { t, fmtDate, fmtPlainDate } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, announce, field, fieldError, busy, errorText, choice } from '/dom.js';

const OPEN = new Set(['open', 'acknowledged']);

function statusText(r) {
  const text = t.pause.status[r.status];
  return typeof text === 'object' ? text[r.kind] : text || '';
}

function tomorrow() {
  const d = new Date(Date.now() + 864e5);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export async function pauseView(ctx) {
  const root = h('div', { class: 'stack' });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  let plan; let requests;

  async function load() {
    [plan, requests] = await Promise.all([api.get('/me/plan'), api.get('/me/requests?limit=20')]);
  }

  function requestCard(r) {
    const hid = `req-${r.id}`;
    const card = h('article', { class: OPEN.has(r.status) ? 'card highlight' : 'card', 'aria-labelledby': hid });
    const drawCard = () => {
      fill(card,
        h('h3', { id: hid, tabindex: '-1' }, `${t.pause.kind[r.kind]}: ${t.pause.statusShort[r.status] || r.status}`),
        h('p', null, statusText(r)),
        h('p', { class: 'muted' }, t.pause.askedOn(fmtDate(r.created_at))),
        r.resume_on ? h('p', null, t.pause.wantsBack(fmtPlainDate(r.resume_on))) : null,
        r.note ? h('div', { class: 'note' }, h('p', { class: 'muted' }, t.pause.consultantNote), h('p', null, r.note)) : null,
        OPEN.has(r.status)
          ? h('button', { type: 'button', class: 'btn secondary', onclick: confirmWithdraw }, t.pause.withdraw)
          : null);
    };
    function confirmWithdraw() {
      const yes = h('button', {
        type: 'button', class: 'btn',
        onclick: async () => {
          await busy(yes, t.sending, async () => {
            try {
              await api.post(`/me/requests/${r.id}/withdraw`);
              await load();
              draw();
              announce(t.pause.withdrawn);
              document.getElementById(hid)?.focus();
            } catch (err) {
              fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
            }
          });
        },
      }, t.pause.withdrawYes);
      const box = h('div', { class: 'confirm' },
        h('p', { id: `${hid}-c` }, t.pause.withdrawConfirm),
        h('div', { class: 'actions' }, yes,
          h('button', { type: 'button', class: 'btn secondary', onclick: () => { drawCard(); card.querySelector('button').focus(); } }, t.cancel)));
      card.querySelector('button').replaceWith(box);
      yes.focus();
    }
    drawCard();
    return card;
  }

  function askForm(kinds) {
    // With both open to ask for, the person chooses; with one, it is simply explained.
    const chooser = kinds.length > 1
      ? h('fieldset', { class: 'choices' },
        h('legend', null, t.pause.choose),
        kinds.map((k) => choice({
          name: 'kind', id: `kind-${k}`, value: k,
          label: k === 'pause' ? t.pause.choosePause : t.pause.chooseStop,
          description: k === 'pause' ? t.pause.pauseText : t.pause.stopText,
        }).wrap))
      : h('div', null,
        h('input', { type: 'hidden', name: 'kind', value: kinds[0] }),
        h('p', null, kinds[0] === 'pause' ? t.pause.pauseText : t.pause.stopText));
    const chosen = () => (kinds.length > 1 ? chooser.querySelector('input:checked')?.value : kinds[0]);
    const resume = field({ label: t.pause.resumeOn, name: 'resume_on', type: 'date', id: 'resume-on', optional: true, hint: t.pause.resumeHint, attrs: { min: tomorrow() } });
    const reason = field({ label: t.pause.reason, name: 'reason', id: 'reason', multiline: true, optional: true, hint: t.pause.reasonHint, attrs: { maxlength: 1000 } });
    const sync = () => { resume.wrap.hidden = chosen() !== 'pause'; };
    chooser.addEventListener('change', sync);
    const err = h('p', { id: 'kind-error', class: 'field-error', hidden: true }, t.pause.chooseMissing);
    const form = h('form', {
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        const kind = chosen();
        if (!kind) {
          err.hidden = false;
          chooser.querySelector('input').focus();
          return;
        }
        err.hidden = true;
        const payload = { kind };
        const why = reason.input.value.trim();
        if (why) payload.reason = why;
        if (kind === 'pause' && resume.input.value) payload.resume_on = resume.input.value;
        form.replaceWith(confirm(payload, form));
      },
    }, chooser, err, resume.wrap, reason.wrap, h('button', { type: 'submit', class: 'btn' }, t.pause.next));
    sync();
    return form;
  }

  function confirm(payload, form) {
    const key = api.newKey();
    const send = h('button', {
      type: 'button', class: 'btn',
      onclick: async () => {
        await busy(send, t.sending, async () => {
          try {
            const created = await api.post('/me/requests', payload, { idempotent: key });
            await load();
            draw();
            announce(t.pause.sent);
            document.getElementById(`req-${created.id}`)?.focus();
          } catch (err) {
            let text = errorText(err);
            if (err instanceof api.ApiError && err.status === 409) text = err.problem.existing_id ? t.pause.alreadyOpen : t.pause.cannotNow;
            if (err instanceof api.ApiError && err.status === 400 && err.fields.resume_on) {
              box.replaceWith(form);
              fieldError(document.getElementById('resume-on'), errorText(err));
              document.getElementById('resume-on').focus();
              return;
            }
            fill(alertArea, h('p', { class: 'notice error' }, text));
          }
        });
      },
    }, t.pause.send);
    const box = h('div', { class: 'card highlight confirm' },
      h('h2', { id: 'confirm-h', tabindex: '-1' }, t.pause.confirmTitle),
      h('p', null, payload.kind === 'pause' ? t.pause.confirmPause : t.pause.confirmStop),
      payload.resume_on ? h('p', null, t.pause.wantsBack(fmtPlainDate(payload.resume_on))) : null,
      h('div', { class: 'actions' }, send,
        h('button', { type: 'button', class: 'btn secondary', onclick: () => { box.replaceWith(form); form.querySelector('input:checked, input:not([type=hidden]), textarea')?.focus(); } }, t.back)));
    setTimeout(() => box.querySelector('h2').focus(), 0);
    return box;
  }

  function draw() {
    const status = plan.course?.status;
    const ended = status === 'completed' || status === 'stopped';
    const items = requests.items || [];
    const openKinds = new Set(items.filter((r) => OPEN.has(r.status)).map((r) => r.kind));
    const kinds = [];
    if (status === 'active' && !openKinds.has('pause')) kinds.push('pause');
    if (!ended && !openKinds.has('stop')) kinds.push('stop');

    const parts = [h('h1', null, t.pause.title), h('p', null, t.pause.intro), alertArea];

    if (status === 'paused') {
      const resumeBtn = h('button', {
        type: 'button', class: 'btn',
        onclick: async () => {
          await busy(resumeBtn, t.saving, async () => {
            try {
              await api.post('/me/resume');
              await load();
              draw();
              announce(t.pause.resumed);
            } catch (err) {
              fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
            }
          });
        },
      }, t.pause.resumeNow);
      parts.push(h('section', { class: 'card calm', 'aria-labelledby': 'paused-h' },
        h('h2', { id: 'paused-h' }, t.pause.pausedNow),
        plan.course.resume_on ? h('p', null, t.pause.wantsBack(fmtPlainDate(plan.course.resume_on))) : null,
        resumeBtn));
    }
    if (ended) parts.push(h('p', { class: 'notice calm' }, t.pause.ended));

    if (items.length) {
      parts.push(h('section', { 'aria-labelledby': 'requests-h' },
        h('h2', { id: 'requests-h', tabindex: '-1' }, t.pause.requestsTitle),
        h('div', { class: 'stack' }, items.map(requestCard))));
    }

    if (kinds.length > 1) {
      parts.push(h('section', { class: 'card', 'aria-labelledby': 'ask-h' },
        h('h2', { id: 'ask-h' }, t.pause.askTitle),
        askForm(kinds)));
    } else if (kinds.length === 1) {
      // Already paused, or already asked: the other choice is there, but folded away, not pushed.
      parts.push(h('details', { class: 'card ask' },
        h('summary', null, kinds[0] === 'pause' ? t.pause.askPauseTitle : t.pause.askStopTitle),
        askForm(kinds)));
    }
    fill(root, ...parts);
  }

  await load();
  draw();
  return root;
}
