// My plan, the home screen: greeting, pause state, due questionnaire, next appointment, proposed goals,
// my goals, open requests, news and the consultant's contact. One call to /me/plan does most of it.
import { t, fmtDayTime, fmtPlainDate, fmtDay, fmtTime, cap } from '/i18n.js';
import * as api from '/api.js';
import { getKept } from '/offline.js';
import { h, icon, announce, progressBar, busy, errorText, offlineNotice } from '/dom.js';

export function qName(key) {
  return t.q.names[key] || key;
}

export function noteText(n) {
  const d = n.data || {};
  const when = d.starts_at ? fmtDayTime(d.starts_at) : '';
  const make = t.notes[n.kind] || t.notes.other;
  let text = make(when);
  if (n.kind === 'appointment_cancelled' && d.reason) text += ` ${t.appt.cancelReason(d.reason)}`;
  if ((n.kind === 'request_acknowledged' || n.kind === 'request_carried_out') && d.kind) {
    text = `${t.pause.kind[d.kind] || ''}: ${text}`;
  }
  return text;
}

function noteLink(n) {
  const d = n.data || {};
  if (n.kind.startsWith('appointment')) return '/appointments';
  if (n.kind.startsWith('questionnaire') && d.questionnaire) {
    return `/questionnaires/${encodeURIComponent(d.questionnaire)}${d.assignment_id ? `?assignment=${encodeURIComponent(d.assignment_id)}` : ''}`;
  }
  if (n.kind.startsWith('request')) return '/pause';
  if (n.kind === 'network_group_invitation') return '/network-groups';
  return null;
}

export function goalCard(g) {
  const done = g.steps.filter((s) => s.done).length;
  return h('li', { class: 'card goal-card' },
    h('h3', null, h('a', { href: `/goals/${g.id}`, class: 'stretch' }, g.title)),
    h('p', { class: 'tag' }, t.categories[g.category] || ''),
    progressBar(g.progress, t.goal.progressLabel(g.title), t.goal.progress(done, g.steps.length)));
}

function news(items, section) {
  if (!items.length) return null;
  const list = h('ul', { class: 'plain news' }, items.map((n) => {
    const link = noteLink(n);
    const text = noteText(n);
    // Following a notification marks it read; nobody waits for that.
    const read = () => { api.post(`/me/notifications/${n.id}/read`).catch(() => {}); };
    return h('li', null, link ? h('a', { href: link, onclick: read }, text) : h('span', null, text));
  }));
  const markAll = h('button', {
    type: 'button', class: 'btn secondary small',
    onclick: async () => {
      await busy(markAll, null, async () => {
        try {
          await api.post('/me/notifications/read-all');
          section.remove();
          announce(t.home.allRead);
        } catch (err) {
          announce(errorText(err));
        }
      });
    },
  }, t.home.markAllRead);
  section.append(h('h2', null, t.home.newsTitle), list, markAll);
  return section;
}

export async function planView(ctx) {
  // Without a network the plan is the copy kept on the phone (news are not kept).
  // The career profile and job support plans are asked for beside the plan; without a network their
  // cards are left out.
  const [{ data: plan, asOf }, notes, profile, jobSupport] = await Promise.all([
    getKept('/me/plan', 'plan', ctx.me),
    api.get('/me/notifications?unread=true&limit=5').catch(() => ({ items: [] })),
    api.get('/me/career-profile').catch(() => null),
    api.get('/me/job-support-plans?limit=5').catch(() => ({ items: [] })),
  ]);
  const name = plan.candidate.display_name || plan.candidate.given_name;
  const status = plan.course && plan.course.status;
  const parts = [];

  parts.push(h('div', { class: 'hello' }, h('h1', null, t.home.hello(name)), h('p', null, t.home.welcome)));
  if (asOf) parts.push(offlineNotice(asOf, ctx.retry));

  if (status === 'paused') {
    parts.push(h('section', { class: 'card calm', 'aria-labelledby': 'paused-h' },
      h('h2', { id: 'paused-h' }, t.home.paused),
      h('p', null, t.home.pausedText),
      plan.course.resume_on ? h('p', null, t.home.pausedUntil(fmtPlainDate(plan.course.resume_on))) : null,
      h('a', { href: '/pause', class: 'btn secondary' }, t.home.startAgain)));
  } else if (status === 'completed' || status === 'stopped') {
    parts.push(h('section', { class: 'card calm' }, h('p', null, t.home.ended)));
  }

  for (const q of plan.due_questionnaires || []) {
    const href = `/questionnaires/${encodeURIComponent(q.questionnaire)}?assignment=${encodeURIComponent(q.assignment_id)}`;
    parts.push(h('section', { class: 'card highlight', 'aria-labelledby': `q-${q.assignment_id}` },
      h('h2', { id: `q-${q.assignment_id}` }, t.home.questionnaireTitle),
      h('p', null, t.home.questionnaireText),
      h('p', { class: 'muted' }, t.home.openUntil(fmtDayTime(q.closes_at))),
      h('a', { href, class: 'btn' }, t.home.answerNow(qName(q.questionnaire)))));
  }

  const next = (plan.next_appointments || []).filter((a) => !asOf || new Date(a.ends_at) > new Date())[0];
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'next-h' },
    h('h2', { id: 'next-h' }, t.home.nextAppointment),
    next
      ? [
        h('p', { class: 'big' }, t.appt.when(cap(fmtDay(next.starts_at)), fmtTime(next.starts_at), fmtTime(next.ends_at))),
        h('p', null, next.title),
        next.location ? h('p', null, next.location) : null,
        h('p', { class: 'muted' }, t.appt.response[next.candidate_response] || ''),
      ]
      : h('p', null, t.home.noAppointment),
    h('a', { href: '/appointments', class: 'btn secondary' }, t.home.allAppointments)));

  // My next network-group session when I am in a group; always a way to the groups.
  const ng = plan.next_network_group_session;
  if (ng && (!asOf || new Date(ng.ends_at) > new Date())) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'ng-h' },
      h('h2', { id: 'ng-h' }, t.home.netGroupTitle),
      h('p', { class: 'big' }, t.appt.when(cap(fmtDay(ng.starts_at)), fmtTime(ng.starts_at), fmtTime(ng.ends_at))),
      h('p', null, ng.name),
      ng.location ? h('p', null, ng.location) : null,
      h('a', { href: '/network-groups', class: 'btn secondary wide' }, t.home.netGroupsLink)));
  } else {
    parts.push(h('p', null, h('a', { href: '/network-groups', class: 'btn secondary wide' }, t.titles.netGroups)));
  }

  const proposed = plan.proposed_goals || [];
  if (proposed.length) {
    parts.push(h('section', { class: 'card highlight', 'aria-labelledby': 'prop-h' },
      h('h2', { id: 'prop-h' }, t.home.proposedTitle),
      h('ul', { class: 'plain' }, proposed.map((g) =>
        h('li', null, h('a', { href: `/goals/${g.id}`, class: 'btn secondary wide' }, t.home.seeProposal(g.title)))))));
  }

  const plans = jobSupport.items || [];
  if (plans.some((p) => p.status === 'proposed')) {
    parts.push(h('section', { class: 'card highlight', 'aria-labelledby': 'jsp-h' },
      h('h2', { id: 'jsp-h' }, t.home.jobSupportWaiting),
      h('p', null, t.home.jobSupportWaitingText),
      h('a', { href: '/job-support', class: 'btn wide' }, t.home.seeJobSupport)));
  } else if (plans.some((p) => p.status === 'active')) {
    parts.push(h('p', null, h('a', { href: '/job-support', class: 'btn secondary wide' }, t.titles.jobSupport)));
  }

  parts.push(h('section', { 'aria-labelledby': 'goals-h' },
    h('h2', { id: 'goals-h' }, t.home.goalsTitle),
    plan.goals.length
      ? h('ul', { class: 'plain cards' }, plan.goals.map(goalCard))
      : h('p', { class: 'empty' }, t.home.noGoals),
    h('a', { href: '/goals/new', class: 'btn' }, icon('plus'), h('span', null, t.home.addGoal))));

  // Until the profile is done, a gentle way into it.
  if (profile && !profile.completed_on && !profile.candidate_done_on) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'career-h' },
      h('h2', { id: 'career-h' }, t.home.careerTitle),
      h('p', null, t.home.careerText),
      h('a', { href: '/career-profile', class: 'btn secondary wide' }, t.home.careerStart)));
  }

  for (const r of plan.open_requests || []) {
    parts.push(h('section', { class: 'card calm', 'aria-labelledby': `r-${r.id}` },
      h('h2', { id: `r-${r.id}` }, `${t.home.requestTitle}: ${t.pause.kind[r.kind] || r.kind}`),
      h('p', null, t.pause.status[r.status] || ''),
      h('a', { href: '/pause', class: 'btn secondary' }, t.home.seeRequest)));
  }

  const newsSection = h('section', { class: 'card' });
  const n = news(notes.items || [], newsSection);
  if (n) parts.push(n);

  const c = plan.consultant;
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'cons-h' },
    h('h2', { id: 'cons-h' }, t.home.consultantTitle),
    c
      ? [
        h('p', { class: 'big' }, c.display_name),
        h('ul', { class: 'plain contact' },
          c.phone ? h('li', null, h('a', { href: `tel:${c.phone.replace(/[^+\d]/g, '')}`, class: 'btn secondary wide' }, icon('phone'), h('span', null, t.home.call(c.display_name))), h('p', { class: 'muted' }, c.phone)) : null,
          c.email ? h('li', null, h('a', { href: `mailto:${c.email}`, class: 'btn secondary wide' }, icon('mail'), h('span', null, t.home.mail(c.display_name))), h('p', { class: 'muted' }, c.email)) : null),
      ]
      : h('p', null, t.home.noConsultant)));

  if (status !== 'paused' && status !== 'completed' && status !== 'stopped') {
    parts.push(h('p', { class: 'center' }, h('a', { href: '/pause' }, t.home.needPause)));
  }

  return h('div', { class: 'stack' }, parts);
}
