// A questionnaire, one question per screen with large answers, back and forward, then a kind word.
// The wording of items and answers comes from the API exactly as the instrument has it.
import { t, getLang } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, announce, busy, errorText, choice, clearStatus } from '/dom.js';
import { qName } from '/views/plan.js';

const KEY = /^[a-z0-9_]{1,40}$/;

function kindWord(key, response, previous) {
  if (key !== 'who5') return t.q.kindOther;
  const fell = previous !== null && response.score <= previous - 10;
  if (response.band === 'good' && !fell) return t.q.kindGood;
  if (previous !== null && response.score >= previous + 10) return t.q.kindUp;
  return t.q.kindHard;
}

export async function questionnaireView(ctx) {
  const key = ctx.params.key;
  if (!KEY.test(key)) throw new api.ApiError(404, {});
  const assignment = ctx.query.get('assignment');
  const [def, history] = await Promise.all([
    api.get(`/questionnaires/${encodeURIComponent(key)}`),
    key === 'who5'
      ? api.get('/me/questionnaire-responses?questionnaire=who5&limit=200').catch(() => ({ items: [] }))
      : Promise.resolve({ items: [] }),
  ]);
  const items = def.items || [];
  const previousItems = history.items || [];
  const previous = previousItems.length ? previousItems[previousItems.length - 1].score : null;
  const answers = new Map();
  let step = -1;
  let idemKey = api.newKey();
  const root = h('div', { class: 'questionnaire' });
  const title = qName(key);

  function show(node) {
    clearStatus();
    fill(root, node);
    const h1 = root.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
    window.scrollTo(0, 0);
  }

  function intro() {
    return h('div', { class: 'stack' },
      h('h1', null, title),
      def.instruction ? h('p', null, def.instruction) : null,
      h('p', null, t.q.intro),
      h('p', { class: 'muted' }, t.q.time(items.length)),
      h('button', { type: 'button', class: 'btn big-btn', onclick: () => go(0) }, t.q.start),
      h('p', null, h('a', { href: '/', class: 'back' }, icon('arrow'), h('span', null, t.backHome))));
  }

  function question(i) {
    const item = items[i];
    const last = i === items.length - 1;
    const qid = `q-${item.id}`;
    const errId = `${qid}-error`;
    const chosen = answers.get(item.id);
    const error = h('p', { id: errId, class: 'prompt', hidden: true }, t.q.choose);
    const group = h('fieldset', { class: 'options', 'aria-labelledby': qid },
      def.options.map((o) => choice({
        name: 'answer', id: `${qid}-${o.value}`, value: o.value, checked: chosen === o.value, label: o.label,
        onchange: () => { answers.set(item.id, o.value); error.hidden = true; group.removeAttribute('aria-describedby'); },
      }).wrap));
    const submit = h('button', { type: 'submit', class: 'btn big-btn' }, last ? t.q.submit : t.q.next);
    const form = h('form', {
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        if (!answers.has(item.id)) {
          error.hidden = false;
          group.setAttribute('aria-describedby', errId);
          group.querySelector('input').focus();
          announce(t.q.choose, { visual: false });
          return;
        }
        if (last) send(submit);
        else go(i + 1);
      },
    }, error, group,
    // Always in reach at the bottom of the screen, however long the answers are.
    h('div', { class: 'q-nav' },
      i > 0 ? h('button', { type: 'button', class: 'btn secondary', onclick: () => go(i - 1) }, t.q.previous) : null,
      submit));

    return h('div', { class: 'stack' },
      h('div', { class: 'q-head' },
        h('p', { class: 'step' }, t.q.step(i + 1, items.length)),
        h('progress', { max: items.length, value: i + 1, 'aria-hidden': 'true' })),
      // The Danish WHO-5 items already begin with "I de sidste 2 uger"; say it only when they do not.
      def.recall_period && !item.text.toLowerCase().includes(def.recall_period.toLowerCase())
        ? h('p', { class: 'muted' }, t.q.think(def.recall_period)) : null,
      h('h1', { id: qid, class: 'question' }, item.text),
      form,
      h('p', { class: 'center' }, h('a', { href: '/' }, t.q.stop)));
  }

  async function send(button) {
    const body = {
      questionnaire: key,
      version: def.version,
      answers: items.map((it) => ({ item: it.id, value: answers.get(it.id) })),
    };
    if (assignment) body.assignment_id = assignment;
    await busy(button, t.sending, async () => {
      try {
        let response;
        try {
          response = await api.post('/me/questionnaire-responses', body, { idempotent: idemKey });
        } catch (err) {
          // The assignment may have closed or been answered meanwhile (an old link, another tab): the
          // answers are still worth keeping, so they are sent once more without it.
          const stale = err instanceof api.ApiError && (err.status === 409 || err.fields.assignment_id);
          if (!body.assignment_id || !stale) throw err;
          delete body.assignment_id;
          idemKey = api.newKey();
          response = await api.post('/me/questionnaire-responses', body, { idempotent: idemKey });
        }
        show(thanks(response));
      } catch (err) {
        if (!(err instanceof api.ApiError) || err.status !== 0) idemKey = api.newKey();
        const text = err instanceof api.ApiError && err.status === 400 ? t.q.invalid : errorText(err);
        const old = root.querySelector('.alert-area');
        const box = h('div', { class: 'alert-area', role: 'alert' }, h('p', { class: 'notice error' }, text));
        if (old) old.replaceWith(box); else root.querySelector('form').prepend(box);
      }
    });
  }

  function thanks(response) {
    const follow = response.follow_up ? response.follow_up[getLang()] || response.follow_up.da : null;
    const chart = key === 'who5' || key === 'motivation';
    return h('div', { class: 'stack' },
      h('h1', null, t.q.thanks),
      h('p', { class: 'big' }, kindWord(key, response, previous)),
      follow ? h('p', { class: 'notice calm' }, follow) : null,
      chart ? h('a', { href: '/progress', class: 'btn' }, t.q.seeProgress) : null,
      h('a', { href: '/', class: chart ? 'btn secondary' : 'btn' }, t.toHome));
  }

  function go(i) {
    step = i;
    show(step < 0 ? intro() : question(step));
  }

  root.append(intro());
  return root;
}
