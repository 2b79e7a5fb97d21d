// Makes the app icons in portal/icons/ from the shapes of portal/icon.svg, in headless Chromium. Run it
// after changing the icon (`node icons.mjs` in portal/tests), then commit the PNG files. With pngquant
// and optipng installed (`apt-get install pngquant optipng`) the files are made much smaller.
//
// - icon-192.png, icon-512.png: the icon as it is, rounded corners on a transparent background
//   (manifest `purpose: "any"`).
// - icon-maskable-512.png: the colour fills the whole square and the tick sits well inside the middle
//   80 % circle, so any mask a phone puts on it (circle, squircle) keeps the tick whole.
// - apple-touch-icon.png (180×180): a full square; iOS rounds the corners itself.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const portal = resolve(here, '..');
const out = join(portal, 'icons');

const source = readFileSync(join(portal, 'icon.svg'), 'utf8');
const colour = source.match(/<rect[^>]*fill="(#[0-9a-f]{6})"/i)[1];
const tick = source.match(/<path[^>]*\/>/)[0];

/** A full square of the icon's colour with the tick scaled around the middle. */
function fullBleed(scale) {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" fill="${colour}"/>`
    + `<g transform="translate(16 16) scale(${scale}) translate(-16 -16.5)">${tick}</g></svg>`;
}

const icons = [
  ['icon-192.png', 192, source, true],
  ['icon-512.png', 512, source, true],
  ['icon-maskable-512.png', 512, fullBleed(0.75), false],
  ['apple-touch-icon.png', 180, fullBleed(0.9), false],
];

const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

mkdirSync(out, { recursive: true });
const browser = await launch();
try {
  for (const [name, size, svg, transparent] of icons) {
    const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
    const inline = svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
    await page.setContent(`<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block}</style>${inline}`);
    const file = join(out, name);
    await page.screenshot({ path: file, omitBackground: transparent });
    await page.close();
    if (has('pngquant')) execFileSync('pngquant', ['--force', '--skip-if-larger', '--strip', '--output', file, '--', file]);
    if (has('optipng')) execFileSync('optipng', ['-quiet', '-o7', '-strip', 'all', file]);
    console.log(`${name}: ${size}×${size}, ${statSync(file).size} bytes`);
  }
} finally {
  await browser.close();
}
