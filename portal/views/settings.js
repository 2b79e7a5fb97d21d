// Settings: language, keeping nothing on the phone, what the consultant may disclose, the calendar feed,
// my data, pause or stop, log out.
import { t, getLang, fmtDate, fmtDayTime } from '/i18n.js';
import * as api from '/api.js';
import { keepNothing, setKeepNothing } from '/offline.js';
import { h, fill, icon, announce, field, busy, errorText, download, choice } from '/dom.js';
import { downloadCalendar } from '/views/appointments.js';

const LEVELS = ['none', 'participation', 'support_needs', 'health_details'];

function languageSection(ctx) {
  const options = [['da', 'Dansk'], ['en', 'English']];
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const fieldset = h('fieldset', { class: 'choices two' },
    h('legend', { class: 'visually-hidden' }, t.settings.language),
    options.map(([code, name]) => choice({
      name: 'lang', id: `lang-${code}`, value: code, checked: getLang() === code, label: name, lang: code,
      onchange: async () => {
        alertArea.replaceChildren();
        fieldset.disabled = true;
        try {
          // Saved on the account, so reminders and the calendar speak it too.
          await ctx.setLanguage(code);
        } catch (err) {
          fieldset.disabled = false;
          document.getElementById(`lang-${getLang()}`).checked = true;
          fill(alertArea, h('p', { class: 'notice error' }, `${t.settings.languageFailed} ${errorText(err)}`));
          document.getElementById(`lang-${getLang()}`)?.focus();
          return;
        }
        await ctx.rerender();
        document.getElementById(`lang-${code}`)?.focus();
        announce(t.settings.languageSaved);
      },
    }).wrap));
  return h('section', { class: 'card', 'aria-labelledby': 'lang-h' },
    h('h2', { id: 'lang-h' }, t.settings.language), alertArea, fieldset);
}

/** "Gem ikke noget på denne telefon": a setting of the phone, so it works before anyone logs in again. */
function phoneSection() {
  const c = choice({
    type: 'checkbox', id: 'keep-nothing', checked: keepNothing(), label: t.settings.keepNothing,
    description: t.settings.keepNothingHint,
    onchange: async () => {
      box.disabled = true;
      await setKeepNothing(box.checked);
      box.disabled = false;
      box.focus();
      announce(box.checked ? t.settings.keptNothing : t.settings.keepsCopy);
    },
  });
  const box = c.input;
  return h('section', { class: 'card', id: 'phone', 'aria-labelledby': 'phone-h' },
    h('h2', { id: 'phone-h' }, t.settings.phoneTitle), c.wrap);
}

function disclosureSection(initial) {
  let current = initial;
  const section = h('section', { class: 'card', id: 'disclosure', 'aria-labelledby': 'disc-h' });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });

  function draw() {
    const note = field({ label: t.settings.disclosureNote, name: 'note', id: 'disc-note', multiline: true, optional: true, attrs: { maxlength: 1000 } });
    note.input.value = current.note || '';
    const save = h('button', { type: 'submit', class: 'btn' }, t.settings.disclosureSave);
    const form = h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        alertArea.replaceChildren();
        const level = form.querySelector('input[name=level]:checked')?.value || 'none';
        const body = { level };
        const text = note.input.value.trim();
        if (text) body.note = text;
        await busy(save, t.saving, async () => {
          try {
            current = await api.put('/me/disclosure', body, { ifMatch: current.version });
            draw();
            announce(t.settings.disclosureSaved);
            document.getElementById(`level-${level}`)?.focus();
          } catch (err) {
            fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
            if (err instanceof api.ApiError && err.status === 412) {
              try { current = await api.get('/me/disclosure'); } catch { /* keep */ }
            }
          }
        });
      },
    },
    h('fieldset', { class: 'choices' },
      h('legend', { class: 'visually-hidden' }, t.settings.disclosureTitle),
      LEVELS.map((level) => {
        const [name, text] = t.settings.levels[level];
        return choice({ name: 'level', id: `level-${level}`, value: level, checked: current.level === level, label: name, description: text }).wrap;
      })),
    note.wrap, save);

    fill(section,
      h('h2', { id: 'disc-h' }, t.settings.disclosureTitle),
      h('p', null, t.settings.disclosureIntro),
      current.updated_at ? h('p', { class: 'muted' }, t.settings.disclosureSince(fmtDate(current.updated_at))) : null,
      alertArea, form);
  }
  draw();
  return section;
}

function calendarSection(initial) {
  let feed = initial;
  let made = null;
  const section = h('section', { class: 'card', id: 'calendar', 'aria-labelledby': 'cal-h' });
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });

  const guard = async (button, work) => {
    alertArea.replaceChildren();
    await busy(button, t.saving, async () => {
      try {
        await work();
      } catch (err) {
        fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
      }
    });
  };

  function linkBox() {
    const url = made.url || `${location.origin}${made.path}`;
    const input = h('input', { id: 'feed-url', type: 'text', readonly: true, value: url, 'aria-describedby': 'feed-secret' });
    const copy = h('button', {
      type: 'button', class: 'btn',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(url);
          announce(t.settings.feedCopied);
        } catch {
          input.select();
          announce(t.settings.feedCopyFailed);
        }
      },
    }, t.settings.feedCopy);
    return h('div', { class: 'stack small-gap feed' },
      h('div', { class: 'field' }, h('label', { for: 'feed-url' }, t.settings.feedUrl), input),
      h('p', { id: 'feed-secret', class: 'hint' }, t.settings.feedSecret),
      h('div', { class: 'actions stacked' }, copy,
        h('a', { href: url.replace(/^https?:/, 'webcal:'), class: 'btn secondary' }, icon('calendar'), h('span', null, t.settings.feedOpen))));
  }

  function draw(focusId) {
    const makeBtn = h('button', {
      type: 'button', id: 'feed-make', class: feed.enabled ? 'btn secondary' : 'btn',
      onclick: () => guard(makeBtn, async () => {
        made = await api.post('/me/calendar-feed');
        feed = made.feed;
        draw('feed-url');
        announce(t.settings.feedMade);
      }),
    }, feed.enabled ? t.settings.feedRenew : t.settings.feedMake);
    const offBtn = feed.enabled ? h('button', {
      type: 'button', class: 'btn secondary',
      onclick: () => guard(offBtn, async () => {
        await api.del('/me/calendar-feed');
        feed = { ...feed, enabled: false };
        made = null;
        draw('feed-make');
        announce(t.settings.feedTurnedOff);
      }),
    }, t.settings.feedOffBtn) : null;
    const detailsChoice = choice({
      type: 'checkbox', id: 'feed-details', checked: feed.show_details, label: t.settings.details, description: t.settings.detailsHint,
      onchange: async () => {
        details.disabled = true;
        alertArea.replaceChildren();
        try {
          feed = await api.patch('/me/calendar-feed', { show_details: details.checked }, { ifMatch: feed.version });
          announce(t.settings.detailsSaved);
        } catch (err) {
          details.checked = !details.checked;
          fill(alertArea, h('p', { class: 'notice error' }, errorText(err)));
        }
        details.disabled = false;
        details.focus();
      },
    });
    const details = detailsChoice.input;
    const dl = h('button', { type: 'button', class: 'btn secondary', onclick: (e) => downloadCalendar(e.currentTarget) }, t.appt.download);
    fill(section,
      h('h2', { id: 'cal-h' }, t.settings.calendarTitle),
      h('p', null, t.settings.calendarIntro),
      h('p', { class: 'muted' }, feed.enabled ? t.settings.feedOn : t.settings.feedOff),
      alertArea,
      made ? linkBox() : null,
      h('div', { class: 'actions stacked' }, makeBtn, offBtn),
      feed.enabled && !made ? h('p', { class: 'hint' }, t.settings.feedRenewHint) : null,
      detailsChoice.wrap,
      dl);
    if (focusId) document.getElementById(focusId)?.focus();
  }
  draw();
  return section;
}

function dataSection() {
  const alertArea = h('div', { class: 'alert-area', role: 'alert' });
  const exportBtn = h('button', {
    type: 'button', class: 'btn secondary',
    onclick: async () => {
      alertArea.replaceChildren();
      await busy(exportBtn, t.loading, async () => {
        try {
          const { data } = await api.request('GET', '/me/export', { as: 'blob' });
          download(new Blob([data], { type: 'application/json' }), 'ips-ung-mine-data.json');
          announce(t.settings.exported);
        } catch (err) {
          const soon = err instanceof api.ApiError && (err.status === 404 || err.status === 405 || err.status === 501);
          fill(alertArea, h('p', { class: 'notice' }, soon ? t.settings.exportSoon : errorText(err)));
        }
      });
    },
  }, t.settings.export);

  const logArea = h('div', { class: 'stack small-gap' });
  const showLog = h('button', {
    type: 'button', class: 'btn secondary', 'aria-expanded': 'false', 'aria-controls': 'access-log',
    onclick: async () => {
      if (showLog.getAttribute('aria-expanded') === 'true') {
        logArea.replaceChildren();
        showLog.setAttribute('aria-expanded', 'false');
        return;
      }
      await busy(showLog, t.loading, async () => {
        try {
          const log = await api.get('/me/access-log?limit=100');
          const s = t.settings;
          // What the candidate did themselves is not the answer to "who has looked".
          const others = log.items.filter((e) => e.role !== 'candidate');
          fill(logArea, others.length
            ? h('ul', { class: 'plain log' }, others.map((e) => h('li', null,
              h('span', { class: 'muted' }, `${fmtDayTime(e.at)}: `),
              s.accessEntry(s.roles[e.role] || e.role, s.resources[e.resource] || e.resource, s.actions[e.action] || e.action))))
            : h('p', null, s.accessEmpty));
          showLog.setAttribute('aria-expanded', 'true');
        } catch (err) {
          fill(logArea, h('p', { class: 'notice' }, errorText(err)));
        }
      });
    },
  }, t.settings.accessShow);

  return h('section', { class: 'card', id: 'data', 'aria-labelledby': 'data-h' },
    h('h2', { id: 'data-h' }, t.settings.dataTitle),
    h('p', null, t.settings.dataIntro),
    alertArea,
    exportBtn,
    h('h3', { id: 'access-h' }, t.settings.accessTitle),
    showLog,
    h('div', { id: 'access-log' }, logArea));
}

export async function settingsView(ctx) {
  const [disclosure, feed] = await Promise.all([
    api.get('/me/disclosure'),
    api.get('/me/calendar-feed').catch(() => null),
  ]);
  return h('div', { class: 'stack' },
    h('h1', null, t.settings.title),
    languageSection(ctx),
    phoneSection(),
    disclosureSection(disclosure),
    feed ? calendarSection(feed) : null,
    dataSection(),
    h('section', { class: 'card', 'aria-labelledby': 'pause-h' },
      h('h2', { id: 'pause-h' }, t.settings.pauseTitle),
      h('a', { href: '/pause', class: 'btn secondary' }, icon('pause'), h('span', null, t.settings.pauseLink))),
    h('button', { type: 'button', class: 'btn secondary wide logout', onclick: () => ctx.logout() }, t.settings.logout));
}
