// Every screen at 360×640, with data and empty, in light and dark: an axe-core scan with zero violations
// and a screenshot of each. Plus a keyboard-only run of a questionnaire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, apiClient, launch, phone, logIn, settled, shoot, axe, richCandidate, SCREENSHOTS,
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

test('every screen passes axe in light and dark, and is photographed', async () => {
  const violations = [];
  const rich = await richCandidate(api, 'Sara');
  const empty = await api.candidate({ given: 'Jonas' });
  const invited = await api.candidate({ given: 'Ella', accept: false, active: false });

  const { context, page } = await phone(browser);
  try {
    await page.goto(`${server.base}/login`);
    violations.push(...await check(page, '01-login'));

    await page.goto(`${server.base}/invitation/${encodeURIComponent(invited.code)}`);
    violations.push(...await check(page, '02-invitation'));
    // The invitation form with a mistake shown, so error states are scanned too.
    await page.getByLabel('Vælg en adgangskode').fill('kort');
    await page.getByRole('button', { name: 'Opret profil' }).click();
    await page.getByText('Adgangskoden skal have mindst 10 tegn.').waitFor();
    violations.push(...await check(page, '03-invitation-error'));

    await logIn(page, server.base, rich);
    violations.push(...await check(page, '04-plan'));

    await page.goto(`${server.base}/goals/${rich.goal.id}`);
    violations.push(...await check(page, '05-goal'));
    await page.goto(`${server.base}/goals/${rich.proposed.id}`);
    violations.push(...await check(page, '06-goal-proposed'));
    await page.goto(`${server.base}/goals/new`);
    violations.push(...await check(page, '07-goal-new'));

    await page.goto(`${server.base}/appointments`);
    violations.push(...await check(page, '08-appointments'));
    await page.locator('article', { hasText: 'Besøg i Netto' }).getByRole('button', { name: 'Jeg kan ikke' }).click();
    violations.push(...await check(page, '09-appointments-answer'));

    await page.goto(`${server.base}/questionnaires/who5`);
    violations.push(...await check(page, '10-questionnaire-intro'));
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Spørgsmål 1 af 5').waitFor();
    await page.getByText('Lidt mere end halvdelen af tiden', { exact: true }).click();
    violations.push(...await check(page, '11-questionnaire-question'));
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByText('Vælg det svar, der passer bedst.').first().waitFor();
    violations.push(...await check(page, '12-questionnaire-unanswered'));
    for (let i = 2; i <= 5; i++) {
      await page.getByText('Lidt af tiden', { exact: true }).click();
      await page.getByRole('button', { name: i < 5 ? 'Næste' : 'Send mine svar' }).click();
    }
    await page.getByRole('heading', { name: 'Tak for dine svar' }).waitFor();
    violations.push(...await check(page, '13-questionnaire-thanks'));

    await page.goto(`${server.base}/progress`);
    violations.push(...await check(page, '14-progress'));

    await page.goto(`${server.base}/pause`);
    violations.push(...await check(page, '15-pause'));
    // With a pause already asked for, stopping is the one thing left to ask: folded away, then explained.
    await page.getByText('Vil du hellere stoppe?').click();
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    await page.getByRole('heading', { name: 'Vil du sende det?' }).waitFor();
    violations.push(...await check(page, '16-pause-confirm'));

    await page.goto(`${server.base}/settings`);
    violations.push(...await check(page, '17-settings'));
    await page.getByRole('button', { name: 'Lav et kalenderlink' }).click();
    await page.getByLabel('Dit kalenderlink').waitFor();
    await page.getByRole('button', { name: 'Vis hvem' }).click();
    await page.locator('#access-log li, #access-log p').first().waitFor();
    violations.push(...await check(page, '18-settings-calendar-link'));

    await page.goto(`${server.base}/no-such-page`);
    violations.push(...await check(page, '19-not-found'));

    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('radio', { name: 'English' }).check();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.goto(`${server.base}/`);
    violations.push(...await check(page, '20-plan-english'));
    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('radio', { name: 'Dansk' }).check();
    await page.getByRole('heading', { name: 'Indstillinger', level: 1 }).waitFor();
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }

  // Empty states, written for someone who has only just started.
  const second = await phone(browser);
  try {
    await logIn(second.page, server.base, empty);
    violations.push(...await check(second.page, '21-plan-empty'));
    await second.page.goto(`${server.base}/appointments`);
    violations.push(...await check(second.page, '22-appointments-empty'));
    await second.page.goto(`${server.base}/progress`);
    violations.push(...await check(second.page, '23-progress-empty'));
    await second.page.goto(`${server.base}/pause`);
    violations.push(...await check(second.page, '24-pause-empty'));
    assert.deepEqual(second.page.errors, []);
  } finally {
    await second.context.close();
  }

  const staff = await phone(browser);
  try {
    await staff.page.goto(`${server.base}/login`);
    await staff.page.getByLabel('Brugernavn').fill('demo.konsulent');
    await staff.page.getByLabel('Adgangskode', { exact: true }).fill('demo-konsulent-2026');
    await staff.page.getByRole('button', { name: 'Log ind' }).click();
    await staff.page.getByRole('heading', { name: 'Portalen er til unge' }).waitFor();
    violations.push(...await check(staff.page, '25-staff'));
  } finally {
    await staff.context.close();
  }

  assert.deepEqual(violations, [], `axe violations (screenshots in ${SCREENSHOTS})`);
});

test('touch targets are at least 44×44 px on every interactive element of the plan and a question', async () => {
  const rich = await richCandidate(api, 'Nora');
  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, rich);
    // Radio buttons and checkboxes sit inside their label, which is the target.
    const small = async () => page.evaluate(() => [...document.querySelectorAll(
      'a, button, label.choice, textarea, input:not([type=radio]):not([type=checkbox])')]
      .filter((el) => el.offsetParent !== null)
      // A card's stretched link makes the whole card the target.
      .map((el) => ({ el, r: (el.classList.contains('stretch') ? el.closest('.card') : el).getBoundingClientRect() }))
      .filter(({ el, r }) => {
        // Links inside running text may be smaller (WCAG 2.5.8 exception); every other target must not.
        const inline = el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.closest('p');
        return !inline && (r.width < 44 || r.height < 44);
      })
      .map(({ el, r }) => `${el.tagName} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`));
    assert.deepEqual(await small(), [], 'plan');
    await page.goto(`${server.base}/questionnaires/who5`);
    await settled(page);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Spørgsmål 1 af 5').waitFor();
    assert.deepEqual(await small(), [], 'question');
    await page.goto(`${server.base}/goals/${rich.goal.id}`);
    await settled(page);
    assert.deepEqual(await small(), [], 'goal');
  } finally {
    await context.close();
  }
});

test('nothing is wider than the 360 px screen', async () => {
  const rich = await richCandidate(api, 'Vera');
  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, rich);
    for (const path of ['/', `/goals/${rich.goal.id}`, '/appointments', '/progress', '/pause', '/settings', '/questionnaires/who5']) {
      await page.goto(`${server.base}${path}`);
      await settled(page);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${path} is ${width} px wide`);
    }
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
