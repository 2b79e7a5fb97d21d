// My job support plan: read what my consultant and I agreed (the place, who to contact, the support),
// accept a proposal, and write in my own words the first signs that things are getting hard and what
// helps. Saved with If-Match: if the plan changed meanwhile, the newest is fetched and my words stay.
import { t, fmtPlainDate } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, announce, field, fieldError, busy, errorText } from '/dom.js';

const MAX = 2000;

export async function jobSupportView() {
  const list = await api.get('/me/job-support-plans?limit=20');
  const plans = (list.items || []).filter((p) => p.status !== 'ended');
  const root = h('div', { class: 'stack' },
    h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))),
    h('h1', null, t.titles.jobSupport));
  if (!plans.length) {
    root.append(h('p', { class: 'empty' }, t.js.none));
    return root;
  }
  for (const p of plans) root.append(planBlock(p, plans.length > 1));
  return root;
}

function planBlock(initial, several) {
  let plan = initial;
  const box = h('div', { class: 'stack' });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const path = () => `/me/job-support-plans/${encodeURIComponent(plan.id)}`;
  const sid = (name) => `${name}-${plan.id}`;

  async function reload() {
    try { plan = await api.get(path()); } catch { /* keep what is shown */ }
  }

  function accept() {
    const btn = h('button', {
      type: 'button', class: 'btn wide',
      onclick: async () => {
        alertArea.replaceChildren();
        await busy(btn, t.saving, async () => {
          try {
            plan = await api.post(`${path()}/accept`, undefined, { ifMatch: plan.version });
            draw();
            announce(t.js.accepted);
          } catch (err) {
            if (err instanceof api.ApiError && (err.status === 412 || err.status === 409)) {
              await reload();
              draw();
              fill(alertArea, h('p', { class: 'notice error' }, t.js.changed));
            } else {
              fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
            }
          }
        });
      },
    }, t.js.accept);
    return h('section', { class: 'card highlight', 'aria-labelledby': sid('prop') },
      h('h2', { id: sid('prop') }, t.js.proposedTitle),
      h('p', null, t.js.proposedText),
      btn);
  }

  function placement() {
    const pl = plan.placement;
    return h('section', { class: 'card', 'aria-labelledby': sid('place') },
      h('h2', { id: sid('place') }, t.js.kind[pl.kind] || pl.kind),
      h('dl', { class: 'answers' },
        h('dt', null, t.js.workplace), h('dd', null, pl.workplace),
        h('dt', null, t.js.role), h('dd', null, pl.role),
        h('dt', null, t.js.startsOn), h('dd', null, fmtPlainDate(pl.starts_on)),
        pl.hours_per_week ? [h('dt', null, t.js.hours), h('dd', null, t.js.hoursValue(pl.hours_per_week))] : null),
      h('p', null, t.js.checkIn(plan.check_in_every_days)));
  }

  function contacts() {
    return h('section', { class: 'card', 'aria-labelledby': sid('contacts') },
      h('h2', { id: sid('contacts') }, t.js.contactsTitle),
      plan.contacts.length
        ? h('ul', { class: 'plain contact' }, plan.contacts.map((c) => h('li', null,
          h('p', null, h('strong', null, c.name), ` · ${t.js.contactRole[c.role] || c.role}`),
          c.phone ? h('a', { href: `tel:${c.phone.replace(/[^+\d]/g, '')}`, class: 'btn secondary wide' }, icon('phone'), h('span', null, t.home.call(c.name))) : null,
          c.email ? h('a', { href: `mailto:${c.email}`, class: 'btn secondary wide' }, icon('mail'), h('span', null, t.home.mail(c.name))) : null)))
        : h('p', { class: 'empty' }, t.js.noContacts));
  }

  function supports() {
    return h('section', { class: 'card', 'aria-labelledby': sid('support') },
      h('h2', { id: sid('support') }, t.js.supportTitle),
      plan.supports.length
        ? h('ul', { class: 'plain' }, plan.supports.map((s) => h('li', null,
          h('p', null, s.what),
          h('p', { class: 'muted' }, [t.js.who[s.who] || s.who, s.how_often].filter(Boolean).join(' · ')))))
        : h('p', { class: 'empty' }, t.js.noSupport));
  }

  /** `keep`: words the candidate wrote that are not saved yet, shown instead of the stored ones. */
  function ownWords(keep) {
    const signs = field({ label: t.js.earlySigns, name: 'early-signs', id: sid('early-signs'), hint: t.js.earlySignsHint, multiline: true, attrs: { maxlength: MAX } });
    const helps = field({ label: t.js.whatHelps, name: 'what-helps', id: sid('what-helps'), hint: t.js.whatHelpsHint, multiline: true, attrs: { maxlength: MAX } });
    signs.input.value = keep ? keep.early_signs : (plan.early_signs || '');
    helps.input.value = keep ? keep.what_helps : (plan.what_helps || '');
    const save = h('button', { type: 'submit', class: 'btn wide' }, t.js.save);
    const form = h('form', {
      novalidate: true,
      'aria-labelledby': sid('own'),
      onsubmit: async (e) => {
        e.preventDefault();
        alertArea.replaceChildren();
        const mine = { early_signs: signs.input.value.trim(), what_helps: helps.input.value.trim() };
        let bad = false;
        for (const [f, v] of [[signs, mine.early_signs], [helps, mine.what_helps]]) {
          fieldError(f.input, v.length > MAX ? t.errors.tooLong(MAX) : '');
          if (v.length > MAX) bad = true;
        }
        if (bad) return;
        const body = { early_signs: mine.early_signs || null, what_helps: mine.what_helps || null };
        await busy(save, t.saving, async () => {
          try {
            plan = await api.patch(path(), body, { ifMatch: plan.version });
            draw();
            announce(t.js.saved);
          } catch (err) {
            if (err instanceof api.ApiError && err.status === 412) {
              // Someone changed the plan meanwhile: show the newest, keep what I wrote, say it calmly.
              await reload();
              draw(mine);
              fill(alertArea, h('p', { class: 'notice error' }, t.js.conflict));
            } else {
              fill(alertArea, h('p', { class: 'notice error' }, err instanceof api.ApiError && err.status === 409 ? t.js.cannotNow : errorText(err)));
            }
          }
        });
      },
    }, signs.wrap, helps.wrap, save);
    return h('section', { class: 'card calm', 'aria-labelledby': sid('own') },
      h('h2', { id: sid('own') }, t.js.ownTitle),
      h('p', null, t.js.ownText),
      form);
  }

  function draw(keep) {
    fill(box,
      several ? h('h2', null, `${plan.placement.workplace}`) : null,
      alertArea,
      plan.status === 'proposed' ? accept() : h('p', { class: 'notice success' }, t.js.activeText),
      placement(), contacts(), supports(), ownWords(keep));
  }

  draw();
  return box;
}
