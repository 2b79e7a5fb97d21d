// A goal: its steps (tick off, add, remove), accept or decline a proposal, reached or put away. And the
// form for a new goal in the candidate's own words.
import { t, fmtPlainDate } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, announce, field, fieldError, busy, errorText, progressBar, choice } from '/dom.js';

const CATEGORIES = ['job', 'education', 'everyday_life', 'social', 'health', 'other'];

export async function goalView(ctx) {
  const id = ctx.params.id;
  let goal = await api.get(`/me/goals/${encodeURIComponent(id)}`);
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const body = h('div', { class: 'stack' });
  const root = h('div', { class: 'stack' },
    h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))),
    alertArea, body);

  const fail = async (err) => {
    fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
    if (err instanceof api.ApiError && (err.status === 412 || err.status === 409)) {
      try {
        goal = await api.get(`/me/goals/${encodeURIComponent(id)}`);
        draw();
      } catch { /* keep what is shown */ }
    }
  };

  /** Runs a change that answers with the whole goal, then redraws and puts focus back. */
  const change = async (work, message, focusId) => {
    alertArea.replaceChildren();
    try {
      goal = await work();
      draw(focusId);
      if (message) announce(message);
      return true;
    } catch (err) {
      await fail(err);
      return false;
    }
  };

  const setStatus = (status, message, after) => async (e) => {
    await busy(e.currentTarget, t.saving, async () => {
      const ok = await change(() => api.patch(`/me/goals/${goal.id}`, { status }, { ifMatch: goal.version }), message);
      if (ok && after) after();
    });
  };

  function stepItem(step, editable) {
    const cid = `step-${step.id}`;
    if (!editable) {
      return h('li', { class: step.done ? 'step done' : 'step' },
        step.done ? icon('check') : null, h('span', null, step.title));
    }
    const c = choice({
      type: 'checkbox', id: cid, checked: step.done, label: step.title,
      onchange: async () => {
        const done = box.checked;
        box.disabled = true;
        const ok = await change(
          () => api.patch(`/me/goals/${goal.id}/steps/${step.id}`, { done }),
          done ? t.goal.stepDone : t.goal.stepUndone, cid);
        if (!ok) { box.checked = !done; box.disabled = false; }
      },
    });
    const box = c.input;
    const remove = h('button', {
      type: 'button', class: 'btn-link', 'aria-label': t.goal.removeStep(step.title),
      onclick: async () => {
        remove.disabled = true;
        const ok = await change(() => api.del(`/me/goals/${goal.id}/steps/${step.id}`), t.goal.stepRemoved, 'new-step');
        if (!ok) remove.disabled = false;
      },
    }, t.goal.remove);
    return h('li', { class: step.done ? 'step done' : 'step' },
      c.wrap, remove);
  }

  function addStepForm() {
    const f = field({ label: t.goal.newStep, name: 'step', id: 'new-step', attrs: { maxlength: 200, autocomplete: 'off' } });
    const add = h('button', { type: 'submit', class: 'btn secondary' }, icon('plus'), h('span', null, t.goal.addStep));
    return h('form', {
      class: 'inline-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const title = f.input.value.trim();
        if (!title) {
          fieldError(f.input, t.goal.stepEmpty);
          f.input.focus();
          return;
        }
        fieldError(f.input, '');
        add.disabled = true;
        const ok = await change(() => api.post(`/me/goals/${goal.id}/steps`, { title }), t.goal.stepAdded, 'new-step');
        add.disabled = false;
        if (ok) document.getElementById('new-step').value = '';
        else f.input.value = title;
      },
    }, f.wrap, add);
  }

  function draw(focusId) {
    const done = goal.steps.filter((s) => s.done).length;
    const active = goal.status === 'active';
    const parts = [
      h('h1', null, goal.title),
      h('p', { class: 'tag' }, t.categories[goal.category] || '',
        goal.created_by === 'staff' ? ` · ${t.goal.byConsultant}` : ''),
    ];
    if (goal.description) parts.push(h('p', null, goal.description));
    if (goal.target_date) parts.push(h('p', null, t.goal.target(fmtPlainDate(goal.target_date))));

    if (goal.status === 'proposed') {
      parts.push(h('div', { class: 'card highlight' },
        h('p', null, t.goal.proposedText),
        h('div', { class: 'actions' },
          h('button', {
            type: 'button', class: 'btn',
            onclick: async (e) => {
              await busy(e.currentTarget, t.saving, () =>
                change(() => api.post(`/me/goals/${goal.id}/accept`, undefined, { ifMatch: goal.version }), t.goal.accepted));
            },
          }, t.goal.accept),
          h('button', {
            type: 'button', class: 'btn secondary',
            onclick: setStatus('abandoned', t.goal.declined, () => ctx.navigate('/')),
          }, t.goal.decline))));
    }
    if (goal.status === 'achieved') parts.push(h('p', { class: 'notice success' }, t.goal.achieved));
    if (goal.status === 'abandoned') parts.push(h('p', { class: 'notice' }, t.goal.abandonedText));

    parts.push(progressBar(goal.progress, t.goal.progressLabel(goal.title), t.goal.progress(done, goal.steps.length)));

    parts.push(h('section', { 'aria-labelledby': 'steps-h' },
      h('h2', { id: 'steps-h' }, t.goal.stepsTitle),
      goal.steps.length
        ? h('ul', { class: 'plain steps' }, goal.steps.map((s) => stepItem(s, active)))
        : h('p', { class: 'empty' }, t.goal.noSteps),
      active || goal.status === 'proposed' ? addStepForm() : null));

    if (active) {
      parts.push(h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: setStatus('achieved', t.goal.achieved) }, t.goal.achieve),
        h('button', { type: 'button', class: 'btn secondary', onclick: setStatus('abandoned', t.goal.putAwayDone, () => ctx.navigate('/')) }, t.goal.putAway)));
    } else if (goal.status === 'achieved' || goal.status === 'abandoned') {
      parts.push(h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn secondary', onclick: setStatus('active', t.goal.reopened) }, t.goal.reopen)));
    }

    fill(body, ...parts);
    if (focusId) document.getElementById(focusId)?.focus();
  }

  draw();
  return root;
}

export function newGoalView(ctx) {
  const title = field({ label: t.goal.title, name: 'title', hint: t.goal.titleHint, attrs: { maxlength: 200, required: true, autocomplete: 'off' } });
  const step = field({ label: t.goal.firstStep, name: 'first-step', hint: t.goal.firstStepHint, optional: true, attrs: { maxlength: 200, autocomplete: 'off' } });
  const date = field({ label: t.goal.targetDate, name: 'target', type: 'date', optional: true });
  const cats = h('fieldset', { class: 'choices two' },
    h('legend', null, t.goal.category, h('span', { class: 'muted' }, ` ${t.optional}`)),
    CATEGORIES.map((c) => choice({ name: 'category', id: `cat-${c}`, value: c, label: t.categories[c] }).wrap));
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn' }, t.goal.create);
  let key = api.newKey();

  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      alertArea.replaceChildren();
      const text = title.input.value.trim();
      if (!text) {
        fieldError(title.input, t.goal.titleMissing);
        title.input.focus();
        return;
      }
      fieldError(title.input, '');
      const chosen = form.querySelector('input[name=category]:checked');
      const payload = { title: text, category: chosen ? chosen.value : 'other' };
      const first = step.input.value.trim();
      if (first) payload.steps = [first];
      if (date.input.value) payload.target_date = date.input.value;
      await busy(submit, t.saving, async () => {
        try {
          const goal = await api.post('/me/goals', payload, { idempotent: key });
          ctx.navigate(`/goals/${goal.id}`, { replace: true });
          announce(t.goal.created);
        } catch (err) {
          // The same key with another body would be refused: keep it only to retry a lost connection.
          if (!(err instanceof api.ApiError) || err.status !== 0) key = api.newKey();
          const f = err instanceof api.ApiError ? err.fields : {};
          if (f.target_date) fieldError(date.input, errorText(err));
          fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
        }
      });
    },
  }, title.wrap, cats, step.wrap, date.wrap, submit);

  return h('div', { class: 'stack' },
    h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))),
    h('h1', null, t.goal.newTitle),
    h('p', null, t.goal.newIntro),
    alertArea,
    form);
}
