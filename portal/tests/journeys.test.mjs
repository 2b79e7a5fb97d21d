// The main journeys of a young person through the portal, in a real headless Chromium at 360×640.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, apiClient, launch, phone, logIn, settled, shoot, axe, jobSupportPlan } from './helpers.mjs';

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

async function withPhone(fn, opts) {
  const { context, page } = await phone(browser, opts);
  try {
    await fn(page, context);
    assert.deepEqual(page.errors, [], 'no script errors on the page');
  } finally {
    await context.close();
  }
}

test('accept an invitation, land on my plan, and a reload keeps me logged in', async () => {
  const c = await api.candidate({ given: 'Ida', accept: false, active: false });
  await withPhone(async (page) => {
    await page.goto(`${server.base}/`);
    await page.getByRole('heading', { name: 'Log ind' }).waitFor();
    await page.getByRole('link', { name: 'Opret din profil' }).click();
    await page.getByRole('heading', { name: 'Opret din profil' }).waitFor();
    await page.getByLabel('Din kode').fill(c.code.toLowerCase());
    await page.getByLabel('Vælg et brugernavn').fill(c.username);
    await page.getByLabel('Vælg en adgangskode').fill('kort');
    await page.getByRole('button', { name: 'Opret profil' }).click();
    // A short password is caught kindly before anything is sent.
    await page.getByText('Adgangskoden skal have mindst 10 tegn.').waitFor();
    await page.getByLabel('Vælg en adgangskode').fill(c.password);
    await page.getByRole('button', { name: 'Opret profil' }).click();
    await page.getByRole('heading', { name: 'Hej Ida' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.reload();
    await page.getByRole('heading', { name: 'Hej Ida' }).waitFor();
  });
});

test('a used invitation code gets a kind message', async () => {
  const c = await api.candidate({ given: 'Noa', accept: true, active: false });
  await withPhone(async (page) => {
    await page.goto(`${server.base}/invitation/${encodeURIComponent(c.code)}`);
    await page.getByLabel('Vælg et brugernavn').fill(`${c.username}x`);
    await page.getByLabel('Vælg en adgangskode').fill(c.password);
    await page.getByRole('button', { name: 'Opret profil' }).click();
    await page.getByText('Koden virker ikke.', { exact: false }).waitFor();
  });
});

test('add a goal, tick off a step, and see the progress on my plan', async () => {
  const c = await api.candidate({ given: 'Emil' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByText('Du har ingen mål endnu.', { exact: false }).waitFor();
    await page.getByRole('link', { name: 'Tilføj et mål' }).click();
    await page.getByRole('heading', { name: 'Nyt mål' }).waitFor();
    await page.getByLabel('Mit mål').fill('Finde et fritidsjob');
    await page.getByText('Job', { exact: true }).click();
    await page.getByLabel('Første skridt').fill('Skrive en liste over steder');
    await page.getByRole('button', { name: 'Gem mål' }).click();
    await page.getByRole('heading', { name: 'Finde et fritidsjob' }).waitFor();
    await page.getByText('0 af 1 skridt klaret').waitFor();

    await page.getByLabel('Nyt skridt').fill('Ringe til en butik');
    await page.getByRole('button', { name: 'Tilføj skridt' }).click();
    await page.getByText('0 af 2 skridt klaret').waitFor();

    await page.getByRole('checkbox', { name: 'Skrive en liste over steder' }).check();
    await page.getByText('1 af 2 skridt klaret').waitFor();
    await page.locator('#status', { hasText: 'Godt gået' }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Skrive en liste over steder' }).isChecked(), true);

    await page.getByRole('link', { name: 'Tilbage til min plan' }).click();
    await page.getByRole('heading', { name: 'Hej Emil' }).waitFor();
    await page.getByText('1 af 2 skridt klaret').waitFor();

    const goals = await api.call('GET', '/me/goals', (await api.call('POST', '/auth/login', null, { username: c.username, password: c.password })).access_token);
    assert.equal(goals.items.length, 1);
    assert.equal(goals.items[0].progress, 50);
  });
});

test('fill in my career profile on a phone, saved as I go, and a change elsewhere is shown calmly', async () => {
  const c = await api.candidate({ given: 'Malte' });
  const next = async (page, heading) => {
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByRole('heading', { name: heading }).waitFor();
  };
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('link', { name: 'Skriv i min karriereprofil' }).click();
    await page.getByRole('heading', { name: 'Min karriereprofil', level: 1 }).waitFor();
    await page.locator('.progress-text', { hasText: 'Trin 1 af 9' }).waitFor();
    await page.getByLabel('Dine ønsker til arbejde').fill('Noget med dyr.\nHelst udendørs.');
    await next(page, 'Hvad er du god til?');
    await page.getByLabel('Det er du god til').fill('Jeg møder til tiden');
    // Leaving the field saves it, without going on.
    await page.getByLabel('Det er du god til').blur();
    await page.locator('#status', { hasText: 'Gemt' }).waitFor({ state: 'attached' });
    await next(page, 'Hvad interesserer dig?');
    await next(page, 'Din uddannelse');
    await next(page, 'Det har du prøvet');
    await page.getByText('Frivilligt', { exact: true }).click();
    await page.getByLabel('Hvad lavede du?').fill('Hjælper i en dyreklinik');
    await page.getByLabel('Hvor?').fill('Dyreklinikken i Vejle');
    await page.getByRole('button', { name: 'Tilføj' }).click();
    await page.getByRole('heading', { name: 'Hjælper i en dyreklinik' }).waitFor();
    await next(page, 'Hvad kan hjælpe dig?');
    await next(page, 'Hvad kan gøre det svært?');
    await next(page, 'Hvad må en arbejdsgiver vide?');
    await next(page, 'Færdig');
    await page.getByRole('button', { name: 'Min del er færdig' }).click();
    await page.getByText('Nu mangler din konsulent.', { exact: false }).waitFor();

    // My consultant writes in it meanwhile; my phone still has the old version.
    const now = await api.as('consultant').get(`/candidates/${c.id}/career-profile`);
    await api.as('consultant').put(`/candidates/${c.id}/career-profile`, {
      work_wishes: now.work_wishes, strengths: now.strengths, experience: now.experience,
      disclosure_wishes: 'Kun at jeg har brug for pauser.',
    });
    await page.getByRole('button', { name: 'Tilbage' }).click();
    await page.getByRole('heading', { name: 'Hvad må en arbejdsgiver vide?' }).waitFor();
    await page.getByRole('button', { name: 'Tilbage' }).click();
    await page.getByRole('heading', { name: 'Hvad kan gøre det svært?' }).waitFor();
    await page.getByLabel('Det kan gøre det svært').fill('Bussen kører sjældent.');
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByText('Din profil er blevet ændret et andet sted', { exact: false }).waitFor();
    await page.getByText('Bussen kører sjældent.', { exact: true }).waitFor();
    // Nothing was overwritten: the consultant's words are on the phone now.
    await page.getByRole('button', { name: 'Næste' }).click();
    await page.getByRole('heading', { name: 'Hvad må en arbejdsgiver vide?' }).waitFor();
    assert.equal(await page.getByLabel('Det må en arbejdsgiver vide').inputValue(), 'Kun at jeg har brug for pauser.');
  });
  const p = await api.as('consultant').get(`/candidates/${c.id}/career-profile`);
  assert.equal(p.work_wishes, 'Noget med dyr.\nHelst udendørs.');
  assert.equal(p.strengths, 'Jeg møder til tiden');
  assert.equal(p.experience[0].kind, 'volunteer');
  assert.equal(p.experience[0].place, 'Dyreklinikken i Vejle');
  assert.equal(p.disclosure_wishes, 'Kun at jeg har brug for pauser.');
  assert.equal(p.barriers, null);
  const history = await api.as('consultant').get(`/candidates/${c.id}/career-profile/history`);
  assert.deepEqual(history.items.map((h) => h.actor_role).slice(0, 2), ['consultant', 'candidate']);
});

test('accept a goal my consultant proposed', async () => {
  const c = await api.candidate({ given: 'Liv' });
  await api.as('consultant').post(`/candidates/${c.id}/goals`, { title: 'Gå en tur hver dag', category: 'health', steps: ['Finde en rute'] });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('heading', { name: 'Din konsulent foreslår et mål' }).waitFor();
    await page.getByRole('link', { name: /Gå en tur hver dag/ }).click();
    await page.getByText('Din konsulent har foreslået dette mål.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Ja, tag det med' }).click();
    await page.locator('#status', { hasText: 'Målet er nu med i din plan.' }).waitFor();
    await page.getByRole('checkbox', { name: 'Finde en rute' }).waitFor();
  });
  const goals = await api.as('consultant').get(`/candidates/${c.id}/goals`);
  assert.equal(goals.items[0].status, 'active');
});

test('accept a proposed job support plan and write my early signs', async () => {
  const c = await api.candidate({ given: 'Noah' });
  const plan = await api.as('consultant').post(`/candidates/${c.id}/job-support-plans`, jobSupportPlan());
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('heading', { name: 'Din jobstøtteplan venter på dig' }).waitFor();
    await page.getByRole('link', { name: 'Se min jobstøtteplan' }).click();
    await page.getByRole('heading', { name: 'Min jobstøtteplan', level: 1 }).waitFor();
    await page.getByText('Netto, Søndergade', { exact: true }).waitFor();
    await page.getByText('Lone Hansen', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Ja, planen passer mig' }).click();
    await page.locator('#status', { hasText: 'Din jobstøtteplan er nu i gang.' }).waitFor();
    await page.getByText('Du har sagt ja til planen.').waitFor();

    await page.getByLabel('Hvad er de første tegn på, at det bliver svært?').fill('Jeg sover dårligt og bliver stille.');
    await page.getByLabel('Hvad hjælper?').fill('En gåtur og en snak med Lone.');
    await page.getByRole('button', { name: 'Gem mine ord' }).click();
    await page.locator('#status', { hasText: 'Dine ord er gemt.' }).waitFor();

    // My consultant changes the plan meanwhile: my next save meets a calm explanation, my words stay.
    await api.as('consultant').patch(`/candidates/${c.id}/job-support-plans/${plan.id}`, { check_in_every_days: 7 });
    await page.getByLabel('Hvad hjælper?').fill('En gåtur, en snak med Lone og musik.');
    await page.getByRole('button', { name: 'Gem mine ord' }).click();
    await page.getByText('Planen blev ændret imens', { exact: false }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('textarea')]
      .some((a) => a.value === 'En gåtur, en snak med Lone og musik.'), null, { timeout: 5000 });
    assert.equal(await page.getByLabel('Hvad hjælper?').inputValue(), 'En gåtur, en snak med Lone og musik.');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await settled(page);
      assert.deepEqual(await axe(page), [], `axe on the job support plan (${scheme})`);
    }
    await page.getByRole('button', { name: 'Gem mine ord' }).click();
    await page.locator('#status', { hasText: 'Dine ord er gemt.' }).waitFor();
  });
  const now = await api.as('consultant').get(`/candidates/${c.id}/job-support-plans/${plan.id}`);
  assert.equal(now.early_signs, 'Jeg sover dårligt og bliver stille.');
  assert.equal(now.what_helps, 'En gåtur, en snak med Lone og musik.');
  assert.equal(now.status, 'proposed', 'the consultant changed it after I accepted');
});

test('answer a WHO-5 and see it on the progress chart', async () => {
  const c = await api.candidate({ given: 'Malte' });
  await api.as('consultant').post(`/candidates/${c.id}/questionnaire-assignments`, { questionnaire: 'who5', due_at: new Date().toISOString() });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('heading', { name: 'Et par spørgsmål til dig' }).waitFor();
    await page.getByRole('link', { name: 'Svar på Trivsel' }).click();
    await page.getByRole('button', { name: 'Start' }).click();
    for (let i = 1; i <= 5; i++) {
      await page.getByText(`Spørgsmål ${i} af 5`).waitFor();
      // "Det meste af tiden" is 4 for every item: raw 20, score 80.
      await page.getByText('Det meste af tiden', { exact: true }).click();
      await page.getByRole('button', { name: i < 5 ? 'Næste' : 'Send mine svar' }).click();
    }
    await page.getByRole('heading', { name: 'Tak for dine svar' }).waitFor();
    await page.getByText('Det lyder, som om du har haft nogle gode dage.', { exact: false }).waitFor();
    await page.getByRole('link', { name: 'Se min udvikling' }).click();
    await page.getByRole('heading', { name: 'Min udvikling' }).waitFor();
    const chart = page.getByRole('img', { name: 'Trivsel over tid' });
    await chart.waitFor();
    assert.equal(await chart.locator('circle.dot').count(), 1);
    assert.match(await chart.locator('desc').textContent(), /80 af 100/);
    await page.getByRole('cell', { name: '80' }).waitFor();
    // The assignment is done, so the plan no longer asks.
    await page.getByRole('link', { name: 'Min plan', exact: true }).click();
    await page.getByRole('heading', { name: 'Hej Malte' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Et par spørgsmål til dig' }).count(), 0);
  });
});

test('answer appointments: yes, and can we move it', async () => {
  const c = await api.candidate({ given: 'Sofie' });
  const start = new Date(Date.now() + 3 * 864e5);
  start.setUTCHours(9, 0, 0, 0);
  const first = await api.as('consultant').post(`/candidates/${c.id}/appointments`, {
    kind: 'consultant_meeting', title: 'Snak om job', starts_at: start.toISOString(), location: 'Jobcentret, lokale 2',
  });
  const later = new Date(start.getTime() + 2 * 864e5);
  const second = await api.as('consultant').post(`/candidates/${c.id}/appointments`, {
    kind: 'employer', title: 'Besøg hos bageren', starts_at: later.toISOString(), note_for_candidate: 'Tag gode sko på.',
  });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('heading', { name: 'Din næste aftale' }).waitFor();
    await page.getByText('Snak om job').waitFor();
    await page.getByRole('link', { name: 'Aftaler', exact: true }).click();
    await page.getByRole('heading', { name: 'Mine aftaler' }).waitFor();
    const one = page.locator('article', { hasText: 'Snak om job' });
    await one.getByRole('button', { name: 'Ja, jeg kommer' }).click();
    await one.getByText('Du har sagt ja.', { exact: false }).waitFor();
    assert.equal(await one.getByRole('button', { name: 'Ja, jeg kommer' }).getAttribute('aria-pressed'), 'true');

    const two = page.locator('article', { hasText: 'Besøg hos bageren' });
    await two.getByText('Tag gode sko på.').waitFor();
    await two.getByRole('button', { name: 'Kan vi flytte den?' }).click();
    await two.getByLabel('Vil du skrive noget til din konsulent?').fill('Jeg kan bedre om eftermiddagen.');
    await two.getByRole('button', { name: 'Send svar' }).click();
    await two.getByText('Du har spurgt, om aftalen kan flyttes.', { exact: false }).waitFor();
  });
  const a1 = await api.as('consultant').get(`/candidates/${c.id}/appointments/${first.id}`);
  const a2 = await api.as('consultant').get(`/candidates/${c.id}/appointments/${second.id}`);
  assert.equal(a1.candidate_response, 'accepted');
  assert.equal(a2.candidate_response, 'reschedule_requested');
  assert.equal(a2.response_message, 'Jeg kan bedre om eftermiddagen.');
});

test('ask for a pause, see its state change, and take it back', async () => {
  const c = await api.candidate({ given: 'Oskar' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('link', { name: 'Har du brug for en pause?' }).click();
    await page.getByRole('heading', { name: 'Pause eller stop', level: 1 }).waitFor();
    await page.getByRole('radio', { name: 'En pause' }).check();
    await page.getByLabel('Vil du fortælle hvorfor?').fill('Jeg skal flytte.');
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    await page.getByRole('heading', { name: 'Vil du sende det?' }).waitFor();
    await page.getByRole('button', { name: 'Ja, send' }).click();
    await page.getByRole('heading', { name: 'Pause: Sendt' }).waitFor();
    await page.locator('#status', { hasText: 'Sendt. Din konsulent har fået besked.' }).waitFor();

    const requests = await api.as('consultant').get(`/candidates/${c.id}/requests`);
    assert.equal(requests.items[0].status, 'open');
    await api.as('consultant').post(`/requests/${requests.items[0].id}/acknowledge`, { note: 'Jeg ringer til dig i morgen.' });

    await page.reload();
    await page.getByRole('heading', { name: 'Pause: Set af din konsulent' }).waitFor();
    await page.getByText('Jeg ringer til dig i morgen.').waitFor();
    await page.getByRole('link', { name: 'Min plan', exact: true }).click();
    await page.getByRole('heading', { name: 'Din anmodning: Pause' }).waitFor();
    await page.getByRole('link', { name: 'Se hvordan det går' }).click();

    await page.getByRole('button', { name: 'Træk tilbage' }).click();
    await page.getByRole('button', { name: 'Ja, træk den tilbage' }).click();
    await page.getByRole('heading', { name: 'Pause: Trukket tilbage' }).waitFor();
  });
  const requests = await api.as('consultant').get(`/candidates/${c.id}/requests`);
  assert.equal(requests.items[0].status, 'withdrawn');
});

test('switch to English, and it stays English after a reload', async () => {
  const c = await api.candidate({ given: 'Ahmed' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('link', { name: 'Indstillinger', exact: true }).click();
    await page.getByRole('heading', { name: 'Indstillinger' }).waitFor();
    await page.getByRole('radio', { name: 'English' }).check();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.locator('#status', { hasText: 'The language is now English.' }).waitFor();
    assert.equal(await page.getByRole('radio', { name: 'English' }).isChecked(), true);
    await page.getByRole('link', { name: 'My plan' }).click();
    await page.getByRole('heading', { name: 'Hi Ahmed' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Hi Ahmed' }).waitFor();
    await page.goto(`${server.base}/questionnaires/who5`);
    await page.getByRole('heading', { name: 'Well-being' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    // The item wording comes from the API in English.
    await page.getByRole('heading', { name: 'I have felt cheerful and in good spirits' }).waitFor();
    await page.getByText('All of the time', { exact: true }).waitFor();
  });
  // The choice is saved on the account: staff see it, and another phone starts in English.
  const candidate = await api.as('consultant').get(`/candidates/${c.id}`);
  assert.equal(candidate.language, 'en');
  await withPhone(async (page) => {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Brugernavn').fill(c.username);
    await page.getByLabel('Adgangskode', { exact: true }).fill(c.password);
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByRole('heading', { name: 'Hi Ahmed' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
  });
});

test('before anyone logs in, the language is the phone\'s; after, the account\'s', async () => {
  const c = await api.candidate({ given: 'Nanna' });
  await withPhone(async (page) => {
    await page.goto(`${server.base}/login`);
    await page.getByRole('button', { name: 'Read in English' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.reload();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByLabel('Username').fill(c.username);
    await page.getByLabel('Password', { exact: true }).fill(c.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    // Nanna's account says Danish.
    await page.getByRole('heading', { name: 'Hej Nanna' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'da');
  });
});

test('choose what may be disclosed, in plain words', async () => {
  const c = await api.candidate({ given: 'Maja' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.goto(`${server.base}/settings`);
    await settled(page);
    assert.equal(await page.getByRole('radio', { name: 'Ingenting' }).isChecked(), true);
    await page.getByRole('radio', { name: 'Hvad jeg har brug for' }).check();
    await page.getByLabel('Er der noget, de ikke må nævne?').fill('Min diagnose');
    await page.getByRole('button', { name: 'Gem mit valg' }).click();
    await page.locator('#status', { hasText: 'Dit valg er gemt.' }).waitFor();
  });
  const d = await api.as('consultant').get(`/candidates/${c.id}/disclosure`);
  assert.equal(d.level, 'support_needs');
  assert.equal(d.note, 'Min diagnose');
});

test('make a calendar link and download my data', async () => {
  const c = await api.candidate({ given: 'Karl' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('button', { name: 'Lav et kalenderlink' }).click();
    const url = await page.getByLabel('Dit kalenderlink').inputValue();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/calendar\/.+\.ics$/);
    const ics = await (await fetch(url)).text();
    assert.match(ics, /BEGIN:VCALENDAR/);

    const [exported] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Hent mine data' }).click(),
    ]);
    const path = await exported.path();
    const { readFileSync } = await import('node:fs');
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    assert.ok(JSON.stringify(doc).includes(c.id), 'the export is about me');
  });
});

test('log out, and a reload does not log me back in', async () => {
  const c = await api.candidate({ given: 'Freja' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('link', { name: 'Indstillinger', exact: true }).click();
    await page.getByRole('button', { name: 'Log ud' }).click();
    await page.getByRole('heading', { name: 'Log ind' }).waitFor();
    await page.getByText('Du er logget ud.').waitFor();
    await page.goto(`${server.base}/`);
    await page.getByRole('heading', { name: 'Log ind' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/login');
  });
});

test('a wrong password gets a calm message, and staff are told the portal is for young people', async () => {
  await withPhone(async (page) => {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Brugernavn').fill('demo.kandidat');
    await page.getByLabel('Adgangskode', { exact: true }).fill('forkert-kode-123');
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByText('Brugernavn eller adgangskode passer ikke.', { exact: false }).waitFor();
    await page.getByLabel('Brugernavn').fill('demo.konsulent');
    await page.getByLabel('Adgangskode', { exact: true }).fill('demo-konsulent-2026');
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByRole('heading', { name: 'Portalen er til unge' }).waitFor();
  });
});

test('when the connection drops, a calm message and a way to try again', async () => {
  const c = await api.candidate({ given: 'Alfred' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.route('**/api/v1/me/appointments*', (route) => route.abort('internetdisconnected'));
    await page.getByRole('link', { name: 'Aftaler', exact: true }).click();
    await page.getByText('Vi kan ikke få forbindelse lige nu.', { exact: false }).waitFor();
    assert.deepEqual(await axe(page), []);
    await shoot(page, '26-offline');
    await page.unroute('**/api/v1/me/appointments*');
    await page.getByRole('button', { name: 'Prøv igen' }).click();
    await page.getByText('Du har ingen aftaler lige nu.', { exact: false }).waitFor();
  });
});

test('when the session ends elsewhere, I am sent to log in with a calm word', async () => {
  const c = await api.candidate({ given: 'Asta' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    // Log out behind the portal's back (as another tab would): the cookie is cleared, the session revoked.
    await page.evaluate(() => fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    // Access tokens stop working within seconds of a logout, on every instance.
    await page.waitForTimeout(6000);
    await page.getByRole('link', { name: 'Aftaler', exact: true }).click();
    await page.getByRole('heading', { name: 'Log ind' }).waitFor();
    await page.getByText('Du er blevet logget ud. Log ind igen for at fortsætte.').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('next'), '/appointments');
    await page.getByLabel('Brugernavn').fill(c.username);
    await page.getByLabel('Adgangskode', { exact: true }).fill(c.password);
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByRole('heading', { name: 'Mine aftaler' }).waitFor();
  });
});

test('answers given through an old questionnaire link are still kept', async () => {
  const c = await api.candidate({ given: 'Villads' });
  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.goto(`${server.base}/questionnaires/energy?assignment=01900000-0000-7000-8000-000000000000`);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Spørgsmål 1 af 1').waitFor();
    await page.getByRole('radio').first().check();
    await page.getByRole('button', { name: 'Send mine svar' }).click();
    await page.getByRole('heading', { name: 'Tak for dine svar' }).waitFor();
  });
  const responses = await api.as('consultant').get(`/candidates/${c.id}/questionnaire-responses?questionnaire=energy`);
  assert.equal(responses.items.length, 1);
});

test('join a network group and see its session on my plan', async () => {
  const c = await api.candidate({ given: 'Maja' });
  // The demo group meets on Thursdays at 16:00 Copenhagen time; the next session's weekday is worked
  // out where the people are, not in UTC.
  const { access_token: token } = await api.call('POST', '/auth/login', null, { username: c.username, password: c.password });
  const groups = await api.call('GET', '/me/network-groups', token);
  const group = groups.items.find((g) => g.name === 'Torsdagsgruppen');
  assert.ok(group && group.next_session, 'the demo group has a next session');
  const inCopenhagen = (opts) => new Intl.DateTimeFormat('da-DK', { timeZone: 'Europe/Copenhagen', ...opts })
    .format(new Date(group.next_session.starts_at));
  assert.equal(inCopenhagen({ weekday: 'long' }), 'torsdag');
  assert.equal(inCopenhagen({ hour: '2-digit', minute: '2-digit' }), '16.00');

  await withPhone(async (page) => {
    await logIn(page, server.base, c);
    await page.getByRole('link', { name: 'Netværksgrupper' }).click();
    await page.getByRole('heading', { name: 'Netværksgrupper', level: 1 }).waitFor();
    const card = page.locator('section', { hasText: 'Torsdagsgruppen' });
    await card.getByText('Hver torsdag kl. 16.00 (90 minutter)').waitFor();
    await card.getByText('Du er ikke med i gruppen.').waitFor();
    await card.getByRole('button', { name: 'Vær med i gruppen' }).click();
    await card.getByText('Du er med i gruppen.').waitFor();

    await card.getByLabel('Foreslå et emne').fill('Hvordan forbereder man sig til en jobsamtale?');
    await card.getByRole('button', { name: 'Send forslag' }).click();
    await page.getByText('Tak. Dit forslag er sendt til gruppens ledere.').first().waitFor();

    await page.getByRole('link', { name: 'Tilbage til min plan' }).click();
    const next = page.locator('section', { has: page.getByRole('heading', { name: 'Din næste netværksgruppe' }) });
    await next.waitFor();
    await next.getByText('Torsdagsgruppen').waitFor();
    await next.getByText('kl. 16.00–17.30', { exact: false }).waitFor();
    await shoot(page, 'journey-network-group-plan');

    // Leaving is just as easy, and the plan no longer shows the group's session.
    await page.getByRole('link', { name: 'Se netværksgrupperne' }).click();
    await card.getByRole('button', { name: 'Meld mig ud af gruppen' }).click();
    await card.getByText('Du er ikke med i gruppen.').waitFor();
  });
  const staffView = await api.as('coordinator').get(`/network-groups/${group.id}`);
  assert.ok(staffView.topic_suggestions.some((s) => s.text === 'Hvordan forbereder man sig til en jobsamtale?'));
});
