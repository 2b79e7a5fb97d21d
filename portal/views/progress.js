// My progress: WHO-5 over time as an inline SVG with the bands shaded and a table as its text alternative,
// then the latest answers to motivation and the other short questionnaires.
import { t, fmtDate, fmtShort } from '/i18n.js';
import * as api from '/api.js';
import { h, s } from '/dom.js';
import { qName } from '/views/plan.js';

async function allResponses() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const q = `/me/questionnaire-responses?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api.get(q);
    items.push(...(res.items || []));
    cursor = res.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// Used when the definition cannot be read: the instrument's own bands (under 36, 36–50, over 50).
const DEFAULT_BANDS = [
  { key: 'very_low', min_score: 0, max_score: 35 },
  { key: 'at_risk', min_score: 36, max_score: 50 },
  { key: 'good', min_score: 51, max_score: 100 },
];

function chart(points, bands) {
  const W = 320; const H = 210;
  const L = 34; const R = 12; const T = 10; const B = 28;
  const pw = W - L - R; const ph = H - T - B;
  const y = (v) => T + ((100 - v) / 100) * ph;
  const times = points.map((p) => new Date(p.submitted_at).getTime());
  const t0 = Math.min(...times); const t1 = Math.max(...times);
  // Spaced by time, so a long gap shows as one; evenly when the answers are all from a day or two.
  const x = (i) => {
    if (points.length === 1) return L + pw / 2;
    if (t1 - t0 < 2 * 864e5) return L + (i / (points.length - 1)) * pw;
    return L + ((times[i] - t0) / (t1 - t0)) * pw;
  };
  const sorted = [...bands].sort((a, b) => a.min_score - b.min_score);
  const last = points[points.length - 1];
  const first = points[0];
  const desc = t.progress.chartDesc(points.length, fmtDate(first.submitted_at), fmtDate(last.submitted_at), last.score);

  const svg = s('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc',
  },
  s('title', { id: 'chart-title' }, t.progress.who5Title),
  s('desc', { id: 'chart-desc' }, `${desc} ${t.progress.chartScale}`),
  sorted.map((b, i) => {
    const top = i + 1 < sorted.length ? sorted[i + 1].min_score : 100;
    const bottom = b.min_score;
    return s('rect', { class: `band band-${b.key}`, x: L, y: y(top), width: pw, height: y(bottom) - y(top) });
  }),
  [0, 50, 100].map((v) => s('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v))),
  s('line', { x1: L, y1: y(0), x2: L + pw, y2: y(0), class: 'axis-line' }),
  s('text', { x: L, y: H - 8, class: 'axis', 'text-anchor': 'start' }, fmtShort(first.submitted_at)),
  fmtShort(last.submitted_at) !== fmtShort(first.submitted_at)
    ? s('text', { x: L + pw, y: H - 8, class: 'axis', 'text-anchor': 'end' }, fmtShort(last.submitted_at)) : null,
  points.length > 1 ? s('polyline', { class: 'line', points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ') }) : null,
  points.map((p, i) => s('circle', { class: 'dot', cx: x(i).toFixed(1), cy: y(p.score).toFixed(1), r: 5 })),
  valueLabel());

  // The latest score next to its dot, on the side away from the line coming in.
  function valueLabel() {
    const n = points.length - 1;
    const cameDown = n > 0 && points[n - 1].score > last.score;
    const ly = cameDown ? y(last.score) + 22 : y(last.score) - 12;
    return s('text', {
      x: Math.min(Math.max(x(n), L + 14), L + pw - 14), y: Math.min(Math.max(ly, T + 12), T + ph - 4),
      class: 'value', 'text-anchor': 'middle',
    }, String(last.score));
  }
  return svg;
}

/** The bands' colours explained in words, highest first (the chart's labels, outside it so nothing overlaps). */
function legend(bands) {
  const sorted = [...bands].sort((a, b) => b.min_score - a.min_score);
  return h('ul', { class: 'plain legend' }, sorted.map((b) => h('li', null,
    h('span', { class: `swatch band-${b.key}`, 'aria-hidden': 'true' }),
    `${t.progress.bands[b.key] || b.key}: ${t.progress.range(b.min_score, b.max_score)}`)));
}

function table(points) {
  return h('table', { class: 'data' },
    h('caption', null, t.progress.tableCaption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t.progress.date), h('th', { scope: 'col' }, t.progress.score))),
    h('tbody', null, [...points].reverse().map((p) =>
      h('tr', null, h('td', null, fmtDate(p.submitted_at)), h('td', null, String(p.score))))));
}

function latestAnswers(key, responses, def, headingId) {
  const latest = responses[responses.length - 1];
  const labels = new Map((def?.options || []).map((o) => [o.value, o.label]));
  const texts = new Map((def?.items || []).map((i) => [i.id, i.text]));
  return [
    h('p', { class: 'muted' }, t.progress.answeredOn(fmtDate(latest.submitted_at))),
    h('dl', { class: 'answers', 'aria-labelledby': headingId }, latest.answers.map((a) => [
      h('dt', null, texts.get(a.item) || a.item),
      h('dd', null, labels.get(a.value) ?? String(a.value)),
    ])),
  ];
}

export async function progressView() {
  const [responses, defs] = await Promise.all([
    allResponses(),
    api.get('/questionnaires').catch(() => ({ items: [] })),
  ]);
  const byKey = new Map();
  for (const r of responses) {
    if (!byKey.has(r.questionnaire)) byKey.set(r.questionnaire, []);
    byKey.get(r.questionnaire).push(r);
  }
  const def = new Map((defs.items || []).map((d) => [d.key, d]));
  const who5 = byKey.get('who5') || [];
  const bands = def.get('who5')?.bands?.length ? def.get('who5').bands : DEFAULT_BANDS;

  const parts = [h('h1', null, t.progress.title), h('p', null, t.progress.intro)];

  parts.push(h('section', { class: 'card', 'aria-labelledby': 'who5-h' },
    h('h2', { id: 'who5-h' }, t.progress.who5Title),
    who5.length
      ? [h('figure', { class: 'chart-wrap' }, chart(who5, bands)), legend(bands), h('p', { class: 'muted' }, t.progress.chartScale), table(who5)]
      : [h('p', { class: 'empty' }, t.progress.who5Empty)],
    h('a', { href: '/questionnaires/who5', class: who5.length ? 'btn secondary' : 'btn' },
      who5.length ? t.progress.answerAgain : t.progress.answerWho5)));

  const motivation = byKey.get('motivation') || [];
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'mot-h' },
    h('h2', { id: 'mot-h' }, t.progress.motivationTitle),
    motivation.length
      ? latestAnswers('motivation', motivation, def.get('motivation'), 'mot-h')
      : h('p', { class: 'empty' }, t.progress.motivationEmpty),
    h('a', { href: '/questionnaires/motivation', class: 'btn secondary' },
      motivation.length ? t.progress.answerAgain : t.progress.answerMotivation)));

  const others = [...byKey.keys()].filter((k) => k !== 'who5' && k !== 'motivation');
  if (others.length) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'other-h' },
      h('h2', { id: 'other-h' }, t.progress.otherTitle),
      others.map((k) => h('div', { class: 'stack small-gap' },
        h('h3', { id: `o-${k}` }, qName(k)),
        latestAnswers(k, byKey.get(k), def.get(k), `o-${k}`)))));
  }

  return h('div', { class: 'stack' }, parts);
}
