// Network groups: the weekly groups I can be part of, with their next session. Joining and leaving are
// my own choice; as a member I can suggest a topic and see when I was there.
import { t, fmtDayTime, fmtDate } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, announce, field, fieldError, busy, errorText } from '/dom.js';

const MAX = 500;

export async function netGroupsView() {
  const list = await api.get('/me/network-groups');
  const groups = list.items || [];
  const root = h('div', { class: 'stack' },
    h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))),
    h('h1', null, t.titles.netGroups),
    h('p', null, t.ng.intro));
  if (!groups.length) {
    root.append(h('p', { class: 'empty' }, t.ng.none));
    return root;
  }
  for (const g of groups) root.append(groupCard(g));
  return root;
}

function groupCard(initial) {
  let g = initial;
  const box = h('section', { class: 'card', 'aria-labelledby': `ng-${g.id}` });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const path = () => `/me/network-groups/${encodeURIComponent(g.id)}`;

  function joinOrLeave() {
    const joining = !g.member;
    const btn = h('button', {
      type: 'button', class: joining ? 'btn wide' : 'btn secondary wide',
      onclick: async () => {
        alertArea.replaceChildren();
        await busy(btn, t.saving, async () => {
          try {
            g = await api.post(`${path()}/${joining ? 'join' : 'leave'}`, undefined, { idempotent: true });
            draw();
            announce(joining ? t.ng.joined : t.ng.left);
          } catch (err) {
            fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
          }
        });
      },
    }, joining ? t.ng.join : t.ng.leave);
    return btn;
  }

  function suggest() {
    const f = field({ label: t.ng.suggestLabel, name: 'topic', id: `topic-${g.id}`, hint: t.ng.suggestHint, multiline: true, attrs: { maxlength: MAX } });
    const send = h('button', { type: 'submit', class: 'btn secondary wide' }, t.ng.suggestSend);
    return h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        alertArea.replaceChildren();
        const text = f.input.value.trim();
        fieldError(f.input, !text ? t.ng.suggestEmpty : text.length > MAX ? t.errors.tooLong(MAX) : '');
        if (!text || text.length > MAX) return;
        await busy(send, t.sending, async () => {
          try {
            await api.post(`${path()}/topic-suggestions`, { text }, { idempotent: true });
            f.input.value = '';
            announce(t.ng.suggested);
          } catch (err) {
            fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
          }
        });
      },
    }, f.wrap, send);
  }

  function attendance() {
    const marks = g.my_attendance || [];
    if (!marks.length) return null;
    return [
      h('h3', null, t.ng.attendanceTitle),
      h('ul', { class: 'plain' }, marks.map((a) =>
        h('li', null, `${fmtDate(a.starts_at)}: ${a.attended ? t.ng.was : t.ng.wasNot}`))),
    ];
  }

  function draw() {
    const next = g.next_session;
    fill(box,
      h('h2', { id: `ng-${g.id}` }, g.name),
      h('p', null, t.ng.when(t.ng.weekdays[g.weekday - 1], t.ng.time(g.starts_at), g.duration_minutes)),
      g.location ? h('p', null, g.location) : null,
      g.online_url ? h('p', null, t.ng.online) : null,
      h('p', { class: 'big' }, next ? t.ng.next(fmtDayTime(next.starts_at)) : t.ng.noNext),
      next && next.topic ? h('p', null, t.ng.topic(next.topic)) : null,
      h('p', { class: g.member ? 'notice success' : 'muted' }, g.member ? t.ng.member : t.ng.notMember),
      alertArea,
      joinOrLeave(),
      g.member ? suggest() : null,
      attendance());
  }

  draw();
  return box;
}
