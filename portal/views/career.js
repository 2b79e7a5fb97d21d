// My career profile: one part per screen, saved as I go (when I leave a field or a screen), with the
// version I read (If-Match). When my consultant saved in the meantime, it says so calmly and shows the
// new text next to what I wrote, so nothing is lost.
import { t, fmtPlainDate } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, announce, field, busy, errorText, progressBar, choice } from '/dom.js';

const PATH = '/me/career-profile';
const TEXTS = ['work_wishes', 'strengths', 'interests', 'education'];
const MORE = ['support_needs', 'barriers', 'disclosure_wishes'];
const STEPS = [...TEXTS, 'experience', ...MORE, 'done'];
const ALL_TEXTS = [...TEXTS, ...MORE];
const KINDS = ['job', 'education', 'volunteer', 'other'];

/** The document a save sends: every field (a save replaces the whole profile), in a fixed key order. */
function doc(p) {
  const out = {
    experience: p.experience.map((x) => ({
      kind: x.kind, title: x.title, place: x.place ?? null, from: x.from ?? null, to: x.to ?? null, went_well: x.went_well ?? null,
    })),
  };
  for (const k of ALL_TEXTS) out[k] = p[k];
  return out;
}

const same = (a, b) => JSON.stringify(doc(a)) === JSON.stringify(doc(b));

export async function careerView(ctx) {
  let profile = await api.get(PATH);
  let step = 0;
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const body = h('div', { class: 'stack' });
  const root = h('div', { class: 'stack' },
    h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))),
    h('h1', { id: 'cp-title', tabindex: '-1' }, t.career.title),
    alertArea, body);

  // One save at a time: leaving a field and tapping "Next" both save, and the second must see the
  // version the first made.
  let pending = Promise.resolve(true);
  // Conflicts seen so far: a screen change waits for the saves before it, and stays put after one.
  let conflicts = 0;
  function save(next, done) {
    // What was written before a conflict was shown is not sent afterwards: it would overwrite the new
    // version unseen.
    const seen = conflicts;
    const run = pending.then(() => (conflicts === seen ? saveNow(next, done) : false));
    pending = run.catch(() => false);
    return run;
  }

  /** Saves `next` (the whole document, plus `done` when given); answers whether it was saved. */
  async function saveNow(next, done) {
    if (done === undefined && same(next, profile)) return true;
    const payload = doc(next);
    if (done !== undefined) payload.done = done;
    try {
      profile = await api.put(PATH, payload, { ifMatch: profile.version });
      alertArea.replaceChildren();
      announce(t.career.saved, { visual: false });
      return true;
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 412) {
        // Changed elsewhere: show the new version, and keep what I wrote in sight.
        conflicts += 1;
        const mine = payload;
        try { profile = await api.get(PATH); } catch { /* keep what is shown */ }
        draw();
        const key = STEPS[step];
        const lost = ALL_TEXTS.includes(key) && (mine[key] || '') !== (profile[key] || '') ? mine[key] : null;
        fill(alertArea, h('div', { class: 'notice' },
          h('p', null, t.career.changedElsewhere),
          lost ? h('p', null, t.career.youWrote) : null,
          lost ? h('blockquote', { class: 'quote' }, lost) : null));
        return false;
      }
      fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
      return false;
    }
  }

  function textStep(key) {
    const f = field({
      label: t.career.q[key], name: key, id: `cp-${key}`, hint: t.career.hint[key], multiline: true,
      attrs: { maxlength: 2000, rows: 6 },
    });
    f.input.value = profile[key] || '';
    // Leaving the field saves it.
    f.input.addEventListener('change', () => save({ ...profile, [key]: f.input.value.trim() || null }));
    return { parts: [f.wrap], collect: () => ({ ...profile, [key]: f.input.value.trim() || null }) };
  }

  function experienceStep() {
    const list = profile.experience.length
      ? h('ul', { class: 'plain cards' }, profile.experience.map((x, i) => h('li', { class: 'card exp' },
        h('h3', null, x.title),
        h('p', { class: 'tag' }, [t.career.kind[x.kind], x.place].filter(Boolean).join(' · ')),
        x.from || x.to ? h('p', { class: 'muted' }, t.career.period(x.from ? fmtPlainDate(x.from) : '', x.to ? fmtPlainDate(x.to) : '')) : null,
        x.went_well ? h('p', null, x.went_well) : null,
        h('button', {
          type: 'button', class: 'btn secondary small', 'aria-label': t.career.removeNamed(x.title),
          onclick: async (e) => {
            const next = { ...profile, experience: profile.experience.filter((_, j) => j !== i) };
            await busy(e.currentTarget, t.saving, async () => {
              if (await save(next)) { draw(); announce(t.career.removed); }
            });
          },
        }, t.career.remove))))
      : h('p', { class: 'empty' }, t.career.noExperience);

    const kinds = h('fieldset', { class: 'choices two' },
      h('legend', null, t.career.kindLabel),
      KINDS.map((k, i) => choice({ name: 'kind', id: `kind-${k}`, value: k, checked: i === 0, label: t.career.kind[k] }).wrap));
    const title = field({ label: t.career.expTitle, name: 'title', id: 'exp-title', attrs: { maxlength: 200, autocomplete: 'off' } });
    const place = field({ label: t.career.place, name: 'place', id: 'exp-place', optional: true, attrs: { maxlength: 200, autocomplete: 'off' } });
    const from = field({ label: t.career.from, name: 'from', id: 'exp-from', type: 'date', optional: true });
    const to = field({ label: t.career.to, name: 'to', id: 'exp-to', type: 'date', optional: true });
    const well = field({ label: t.career.wentWell, name: 'went_well', id: 'exp-well', optional: true, multiline: true, attrs: { maxlength: 2000 } });
    const add = h('button', { type: 'submit', class: 'btn secondary' }, icon('plus'), h('span', null, t.career.add));
    const formError = h('p', { class: 'field-error', role: 'alert' });
    const form = h('form', {
      class: 'stack card', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        formError.textContent = '';
        const entry = {
          kind: form.querySelector('input[name=kind]:checked').value,
          title: title.input.value.trim(),
          place: place.input.value.trim() || null,
          from: from.input.value || null,
          to: to.input.value || null,
          went_well: well.input.value.trim() || null,
        };
        if (!entry.title) { formError.textContent = t.career.titleMissing; title.input.focus(); return; }
        if (entry.from && entry.to && entry.to < entry.from) { formError.textContent = t.career.toBeforeFrom; to.input.focus(); return; }
        if (profile.experience.length >= 30) { formError.textContent = t.career.tooMany; return; }
        await busy(add, t.saving, async () => {
          if (await save({ ...profile, experience: [...profile.experience, entry] })) {
            draw();
            announce(t.career.added);
            document.getElementById('exp-title')?.focus();
          }
        });
      },
    }, h('h3', null, t.career.addTitle), kinds, title.wrap, place.wrap, from.wrap, to.wrap, well.wrap, formError, add);
    return { parts: [h('p', null, t.career.hint.experience), list, form], collect: () => profile };
  }

  function doneStep() {
    const parts = [];
    if (profile.completed_on) {
      parts.push(h('p', { class: 'notice success' }, t.career.completed(fmtPlainDate(profile.completed_on))));
    } else if (profile.candidate_done_on) {
      parts.push(h('p', { class: 'notice' }, profile.staff_done_on ? t.career.bothDone : t.career.waitingForConsultant));
    } else {
      parts.push(h('p', null, t.career.doneText));
      if (profile.staff_done_on) parts.push(h('p', { class: 'muted' }, t.career.consultantDone));
    }
    if (!profile.completed_on) {
      const mark = !profile.candidate_done_on;
      parts.push(h('button', {
        type: 'button', class: mark ? 'btn' : 'btn secondary',
        onclick: async (e) => {
          await busy(e.currentTarget, t.saving, async () => {
            if (await save(profile, mark)) { draw(); announce(mark ? t.career.markedDone : t.career.unmarked); }
          });
        },
      }, mark ? t.career.markDone : t.career.unmark));
    }
    parts.push(h('a', { href: '/', class: 'btn secondary' }, t.toHome));
    return { parts, collect: () => profile };
  }

  let current = null;
  async function go(to) {
    const seen = conflicts;
    if (current && !(await save(current.collect()))) return;
    if (conflicts !== seen) return;
    step = to;
    draw();
    document.getElementById('cp-step')?.focus();
  }

  function draw() {
    const key = STEPS[step];
    current = ALL_TEXTS.includes(key) ? textStep(key) : key === 'experience' ? experienceStep() : doneStep();
    const nav = h('div', { class: 'actions' },
      step > 0 ? h('button', { type: 'button', class: 'btn secondary', onclick: () => go(step - 1) }, t.back) : null,
      step < STEPS.length - 1 ? h('button', { type: 'button', class: 'btn', onclick: () => go(step + 1) }, t.career.next) : null);
    fill(body,
      step === 0 ? h('div', { class: 'card calm' }, h('p', null, t.career.why), h('p', { class: 'muted' }, t.career.together)) : null,
      progressBar(Math.round(((step + 1) * 100) / STEPS.length), t.career.stepLabel(step + 1, STEPS.length), t.career.stepLabel(step + 1, STEPS.length)),
      h('section', { class: 'stack', 'aria-labelledby': 'cp-step' },
        h('h2', { id: 'cp-step', tabindex: '-1' }, t.career.stepTitle[key]),
        current.parts),
      nav);
  }

  draw();
  return root;
}
