// Every screen at 360×640, with data and empty, online and offline, in light and dark: an axe-core scan
// with zero violations and a screenshot of each. The same screens at 320 and 360 px: nothing scrolls
// sideways and every target is at least 44×44 px. Plus a keyboard-only run of a questionnaire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, apiClient, launch, phone, logIn, settled, shoot, axe, layoutProblems, richCandidate, SCREENSHOTS,
} from './helpers.mjs';

let server; let api; let browser;

before(async () => {
  server = await startServer();
  api = apiClient(server.base);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Scans and photographs the current screen in light and then dark; answers the violations found. */
async function check(page, name) {
  const found = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await settled(page);
    for (const v of await axe(page)) found.push({ screen: `${name} (${scheme})`, ...v });
    await shoot(page, scheme === 'light' ? name : `${name}-dark`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/**
 * Walks through every screen of the portal and its states, with data and empty, calling
 * `visit(page, name)` on each. Makes its own candidates, so it can run more than once.
 */
async function tour(visit, { width } = {}) {
  const rich = await richCandidate(api, 'Sara');
  const empty = await api.candidate({ given: 'Jonas' });
  const invited = await api.candidate({ given: 'Ella', accept: false, active: false });

  const { context, page } = await phone(browser, { width });
  try {
    await page.goto(`${server.base}/login`);
    await visit(page, '01-login');

    await page.goto(`${server.base}/invitation/${encodeURIComponent(invited.code)}`);
    await visit(page, '02-invitation');
    // The invitation form with a mistake shown, so error states are scanned too.
    await page.getByLabel('Vælg en adgangskode').fill('kort');
    await page.getByRole('button', { name: 'Opret profil' }).click();
    await page.getByText('Adgangskoden skal have mindst 10 tegn.').waitFor();
    await visit(page, '03-invitation-error');

    await logIn(page, server.base, rich);
    await visit(page, '04-plan');

    await page.goto(`${server.base}/goals/${rich.goal.id}`);
    await visit(page, '05-goal');
    await page.goto(`${server.base}/goals/${rich.proposed.id}`);
    await visit(page, '06-goal-proposed');
    await page.goto(`${server.base}/goals/new`);
    await visit(page, '07-goal-new');
    await page.goto(`${server.base}/job-support`);
    await page.getByRole('heading', { name: 'Din konsulent har lavet et forslag' }).waitFor();
    await visit(page, '07b-job-support-proposed');
    await page.goto(`${server.base}/network-groups`);
    await page.getByRole('heading', { name: 'Netværksgrupper', level: 1 }).waitFor();
    await visit(page, '07c-network-groups');
    await page.getByRole('button', { name: 'Vær med i gruppen' }).first().click();
    await page.getByText('Du er med i gruppen.').first().waitFor();
    await visit(page, '07d-network-groups-member');

    await page.goto(`${server.base}/appointments`);
    await visit(page, '08-appointments');
    await page.locator('article', { hasText: 'Besøg i Netto' }).getByRole('button', { name: 'Jeg kan ikke' }).click();
    await visit(page, '09-appointments-answer');

    await page.goto(`${server.base}/questionnaires/who5`);
    await visit(page, '10-questionnaire-intro');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Spørgsmål 1 af 5').waitFor();
    await page.getByText('Lidt mere end halvdelen af tiden', { exact: true }).click();
    await visit(page, '11-questionnaire-question');
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByText('Vælg det svar, der passer bedst.').first().waitFor();
    await visit(page, '12-questionnaire-unanswered');
    for (let i = 2; i <= 5; i++) {
      await page.getByText('Lidt af tiden', { exact: true }).click();
      await page.getByRole('button', { name: i < 5 ? 'Næste' : 'Send mine svar' }).click();
    }
    await page.getByRole('heading', { name: 'Tak for dine svar' }).waitFor();
    await visit(page, '13-questionnaire-thanks');

    await page.goto(`${server.base}/progress`);
    await visit(page, '14-progress');

    await page.goto(`${server.base}/pause`);
    await visit(page, '15-pause');
    // With a pause already asked for, stopping is the one thing left to ask: folded away, then explained.
    await page.getByText('Vil du hellere stoppe?').click();
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    await page.getByRole('heading', { name: 'Vil du sende det?' }).waitFor();
    await visit(page, '16-pause-confirm');

    await page.goto(`${server.base}/settings`);
    await visit(page, '17-settings');
    await page.getByRole('button', { name: 'Lav et kalenderlink' }).click();
    await page.getByLabel('Dit kalenderlink').waitFor();
    await page.getByRole('button', { name: 'Vis hvem' }).click();
    await page.locator('#access-log li, #access-log p').first().waitFor();
    await visit(page, '18-settings-calendar-link');

    await page.goto(`${server.base}/no-such-page`);
    await visit(page, '19-not-found');

    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('radio', { name: 'English' }).check();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.goto(`${server.base}/`);
    await visit(page, '20-plan-english');
    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('radio', { name: 'Dansk' }).check();
    await page.getByRole('heading', { name: 'Indstillinger', level: 1 }).waitFor();

    // Without a network: the plan and the appointments from the phone's copy, other screens explain.
    await page.goto(`${server.base}/appointments`);
    await settled(page);
    await page.goto(`${server.base}/`);
    await settled(page);
    await context.setOffline(true);
    await page.reload();
    await page.getByText(/^Offline — vist som/).waitFor();
    await visit(page, '21-offline-plan');
    await page.goto(`${server.base}/appointments`);
    await page.getByText(/^Offline — vist som/).waitFor();
    await page.locator('article', { hasText: 'Besøg i Netto' }).getByRole('button', { name: 'Ja, jeg kommer' }).click();
    await page.getByText('Det kræver internet.', { exact: false }).waitFor();
    await visit(page, '22-offline-appointments-answer');
    await page.goto(`${server.base}/progress`);
    await page.getByText('Den her side kræver internet.', { exact: false }).waitFor();
    await visit(page, '23-offline-needs-network');
    await context.setOffline(false);
    assert.deepEqual(page.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);
  } finally {
    await context.close();
  }

  // Empty states, written for someone who has only just started.
  const second = await phone(browser, { width });
  try {
    await logIn(second.page, server.base, empty);
    await visit(second.page, '24-plan-empty');
    await second.page.goto(`${server.base}/job-support`);
    await second.page.getByText('Du har ingen jobstøtteplan endnu.', { exact: false }).waitFor();
    await visit(second.page, '24b-job-support-empty');
    await second.page.goto(`${server.base}/appointments`);
    await visit(second.page, '25-appointments-empty');
    await second.page.goto(`${server.base}/progress`);
    await visit(second.page, '26-progress-empty');
    await second.page.goto(`${server.base}/pause`);
    await visit(second.page, '27-pause-empty');
    // The career profile, one part per screen: the first, the experience with an entry, and done.
    await second.page.goto(`${server.base}/career-profile`);
    await visit(second.page, '29-career-profile');
    for (const heading of ['Hvad er du god til?', 'Hvad interesserer dig?', 'Din uddannelse', 'Det har du prøvet']) {
      await second.page.getByRole('button', { name: 'Næste' }).click();
      await second.page.getByRole('heading', { name: heading }).waitFor();
    }
    await second.page.getByLabel('Hvad lavede du?').fill('Aviskurer');
    await second.page.getByRole('button', { name: 'Tilføj' }).click();
    await second.page.getByRole('heading', { name: 'Aviskurer' }).waitFor();
    await visit(second.page, '30-career-experience');
    for (const heading of ['Hvad kan hjælpe dig?', 'Hvad kan gøre det svært?', 'Hvad må en arbejdsgiver vide?', 'Færdig']) {
      await second.page.getByRole('button', { name: 'Næste' }).click();
      await second.page.getByRole('heading', { name: heading }).waitFor();
    }
    await visit(second.page, '31-career-done');
    assert.deepEqual(second.page.errors, []);
  } finally {
    await second.context.close();
  }

  const staff = await phone(browser, { width });
  try {
    await staff.page.goto(`${server.base}/login`);
    await staff.page.getByLabel('Brugernavn').fill('demo.konsulent');
    await staff.page.getByLabel('Adgangskode', { exact: true }).fill('demo-konsulent-2026');
    await staff.page.getByRole('button', { name: 'Log ind' }).click();
    await staff.page.getByRole('heading', { name: 'Portalen er til unge' }).waitFor();
    await visit(staff.page, '28-staff');
  } finally {
    await staff.context.close();
  }
}

test('every screen passes axe in light and dark, and is photographed', async () => {
  const violations = [];
  await tour(async (page, name) => {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await settled(page);
      for (const v of await axe(page)) violations.push({ screen: `${name} (${scheme})`, ...v });
      await shoot(page, scheme === 'light' ? name : `${name}-dark`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
  assert.deepEqual(violations, [], `axe violations (screenshots in ${SCREENSHOTS})`);
});

test('at 320 and 360 px nothing scrolls sideways, and every target is at least 44×44 px', async () => {
  const problems = [];
  for (const width of [320, 360]) {
    await tour(async (page, name) => {
      await settled(page);
      for (const p of await layoutProblems(page)) problems.push(`${width} px, ${name}: ${p}`);
    }, { width });
  }
  assert.deepEqual(problems, []);
});

test('the layout check finds what it is for, so a clean check means something', async () => {
  const { context, page } = await phone(browser);
  try {
    await page.goto(`${server.base}/login`);
    await settled(page);
    assert.deepEqual(await layoutProblems(page), []);
    await page.evaluate(() => {
      const wide = document.createElement('p');
      wide.textContent = 'x';
      wide.style.width = '400px';
      document.querySelector('main').append(wide);
      const tiny = document.createElement('a');
      tiny.href = '/';
      tiny.textContent = 'ok';
      document.querySelector('main p').append(tiny);
    });
    const found = await layoutProblems(page);
    assert.ok(found.some((p) => /scrollWidth/.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /^a "ok" is \d+×\d+$/.test(p)), found.join('\n'));
  } finally {
    await context.close();
  }
});

test('a questionnaire can be answered with the keyboard alone', async () => {
  const c = await api.candidate({ given: 'Mikkel' });
  await api.as('consultant').post(`/candidates/${c.id}/questionnaire-assignments`, { questionnaire: 'who5', due_at: new Date().toISOString() });
  const { context, page } = await phone(browser);
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el.tagName, text: (el.textContent || '').trim(), type: el.type || '', checked: Boolean(el.checked), label: el.closest('label')?.textContent.trim() || '' };
  });
  const tabTo = async (pattern, max = 40) => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      if (pattern.test(f.text)) return f;
    }
    throw new Error(`never reached ${pattern} with Tab`);
  };
  try {
    await logIn(page, server.base, c);
    await page.evaluate(() => document.activeElement?.blur());
    await tabTo(/^Svar på Trivsel$/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Trivsel' }).waitFor();
    await tabTo(/^Start$/);
    await page.keyboard.press('Enter');

    // Space picks the first answer; each arrow moves down one answer and picks it.
    const moves = [[], ['ArrowDown'], ['ArrowDown', 'ArrowDown'], [], ['ArrowDown']];
    for (let i = 0; i < 5; i++) {
      await page.getByText(`Spørgsmål ${i + 1} af 5`).waitFor();
      const start = await focused();
      assert.equal(start.tag, 'H1', `focus starts on the question (${i + 1})`);
      await page.keyboard.press('Tab');
      assert.equal((await focused()).type, 'radio');
      if (moves[i].length === 0) await page.keyboard.press('Space');
      for (const key of moves[i]) await page.keyboard.press(key);
      const picked = await focused();
      assert.equal(picked.checked, true);
      if (i === 2) {
        // Go back one question with the keyboard and find the earlier answer still chosen.
        await tabTo(/^Forrige$/);
        await page.keyboard.press('Enter');
        await page.getByText('Spørgsmål 2 af 5').waitFor();
        assert.equal(await page.getByRole('radio', { name: 'Det meste af tiden' }).isChecked(), true);
        await tabTo(/^Næste$/);
        await page.keyboard.press('Enter');
        await page.getByText('Spørgsmål 3 af 5').waitFor();
        assert.equal(await page.getByRole('radio', { name: 'Lidt mere end halvdelen af tiden' }).isChecked(), true);
      }
      await tabTo(i < 4 ? /^Næste$/ : /^Send mine svar$/);
      await page.keyboard.press('Enter');
    }
    await page.getByRole('heading', { name: 'Tak for dine svar' }).waitFor();
    assert.equal((await focused()).tag, 'H1');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
  const responses = await api.as('consultant').get(`/candidates/${c.id}/questionnaire-responses?questionnaire=who5`);
  assert.deepEqual(responses.items[0].answers.map((a) => a.value), [5, 4, 3, 5, 4]);
  assert.equal(responses.items[0].score, 84);
});

test('axe finds a planted problem, so a clean scan means something', async () => {
  const { context, page } = await phone(browser);
  try {
    await page.goto(`${server.base}/login`);
    await settled(page);
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'text';
      document.querySelector('form').append(input);
    });
    const found = await axe(page);
    assert.ok(found.some((v) => v.id === 'label'), 'an input without a label is reported');
  } finally {
    await context.close();
  }
});
