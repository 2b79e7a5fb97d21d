// My appointments: when and where, answer yes / no / can we move it, and take them to the phone's calendar.
import { t, fmtDay, fmtTime, cap } from '/i18n.js';
import * as api from '/api.js';
import { getKept } from '/offline.js';
import { h, fill, icon, announce, field, busy, errorText, download, offlineNotice } from '/dom.js';

export async function downloadCalendar(button) {
  await busy(button, t.loading, async () => {
    try {
      const { data } = await api.request('GET', '/me/calendar.ics', { as: 'blob' });
      download(new Blob([data], { type: 'text/calendar' }), 'ips-ung.ics');
      announce(t.appt.downloaded);
    } catch (err) {
      announce(errorText(err));
    }
  });
}

function card(a) {
  const headingId = `a-${a.id}`;
  const article = h('article', { class: a.status === 'cancelled' ? 'card appt cancelled' : 'card appt', 'aria-labelledby': headingId });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });

  const answer = async (button, response, message) => {
    alertArea.replaceChildren();
    await busy(button, t.sending, async () => {
      try {
        const body = { response };
        if (message) body.message = message;
        const updated = await api.post(`/me/appointments/${a.id}/response`, body);
        Object.assign(a, updated);
        draw(`ans-${a.id}-${response}`);
        announce(t.appt.answered);
      } catch (err) {
        fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
      }
    });
  };

  function messageForm(response) {
    const f = field({
      label: t.appt.messageLabel, name: 'message', id: `msg-${a.id}`, multiline: true, optional: true,
      hint: response === 'declined' ? t.appt.messageHintNo : t.appt.messageHintMove, attrs: { maxlength: 1000 },
    });
    const send = h('button', { type: 'submit', class: 'btn' }, t.appt.send);
    return h('form', {
      class: 'stack small-gap', novalidate: true,
      onsubmit: (e) => { e.preventDefault(); answer(send, response, f.input.value.trim()); },
    }, h('p', { class: 'response' }, t.appt.answering(response === 'declined' ? t.appt.no : t.appt.move)), f.wrap, h('div', { class: 'actions' }, send,
      h('button', { type: 'button', class: 'btn secondary', onclick: () => draw(`ans-${a.id}-${response}`) }, t.cancel)));
  }

  function draw(focusId) {
    const parts = [
      h('h2', { id: headingId }, t.appt.when(cap(fmtDay(a.starts_at)), fmtTime(a.starts_at), fmtTime(a.ends_at))),
      h('p', { class: 'big' }, a.title),
      h('p', { class: 'tag' }, t.appt.kinds[a.kind] || ''),
    ];
    if (a.location) parts.push(h('p', null, h('span', { class: 'muted' }, `${t.appt.where}: `), a.location));
    if (a.online_url && /^https:\/\//.test(a.online_url)) {
      parts.push(h('p', null, h('a', { href: a.online_url, target: '_blank', rel: 'noopener noreferrer' }, t.appt.online)));
    }
    if (a.note_for_candidate) {
      parts.push(h('div', { class: 'note' }, h('p', { class: 'muted' }, t.appt.note), h('p', null, a.note_for_candidate)));
    }
    if (a.status === 'cancelled') {
      parts.push(h('p', { class: 'notice' }, h('strong', null, t.appt.cancelled), a.cancel_reason ? ` ${t.appt.cancelReason(a.cancel_reason)}` : ''));
    } else if (a.status === 'scheduled') {
      const current = a.candidate_response;
      const btn = (response, label, onclick) => h('button', {
        type: 'button', id: `ans-${a.id}-${response}`, class: current === response ? 'btn chosen' : 'btn secondary',
        'aria-pressed': current === response ? 'true' : 'false', onclick,
      }, label);
      parts.push(h('p', { class: 'response' }, t.appt.response[current] || t.appt.response.none));
      parts.push(h('div', { role: 'group', 'aria-label': t.appt.question, class: 'actions stacked' },
        btn('accepted', t.appt.yes, (e) => answer(e.currentTarget, 'accepted')),
        btn('declined', t.appt.no, () => showForm('declined')),
        btn('reschedule_requested', t.appt.move, () => showForm('reschedule_requested'))));
    }
    parts.push(alertArea);
    fill(article, ...parts);
    if (focusId) document.getElementById(focusId)?.focus();
  }

  function showForm(response) {
    const group = article.querySelector('[role=group]');
    const form = messageForm(response);
    group.replaceWith(form);
    form.querySelector('textarea').focus();
  }

  draw();
  return article;
}

export async function appointmentsView(ctx) {
  const from = new Date().toISOString();
  const { data: list, asOf } = await getKept(`/me/appointments?from=${encodeURIComponent(from)}&limit=50`, 'appointments', ctx.me);
  // A kept copy may hold meetings that have ended since.
  const items = (list.items || []).filter((a) => !asOf || new Date(a.ends_at) > new Date());
  const dl = h('button', { type: 'button', class: 'btn secondary', onclick: (e) => downloadCalendar(e.currentTarget) }, t.appt.download);
  return h('div', { class: 'stack' },
    h('h1', null, t.appt.title),
    asOf ? offlineNotice(asOf, ctx.retry) : null,
    items.length ? h('p', null, t.appt.intro) : h('p', { class: 'empty' }, t.appt.none),
    items.length ? h('div', { class: 'stack' }, items.map(card)) : null,
    h('section', { class: 'card', 'aria-labelledby': 'cal-h' },
      h('h2', { id: 'cal-h' }, t.appt.calendarTitle),
      h('p', null, t.appt.calendarText),
      h('div', { class: 'actions stacked' }, dl,
        h('a', { href: '/settings#calendar', class: 'btn secondary' }, icon('calendar'), h('span', null, t.appt.feedLink)))));
}
