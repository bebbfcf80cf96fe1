// The admin console in plain words, as a tenant administrator reads it: the journal as events
// with names, titles and local times; plugins' capabilities as sentences and their health as a
// summary; correct French plurals; colour pickers that show the colour and warn about contrast;
// validation messages in French next to the field they concern. Run by tests/browser/run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, audit, launch, loggedIn as logIn } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const loggedIn = (slug, email, viewport) => logIn(browser, slug, email, viewport);
const ADMIN = ["connextoo", "claire.martin@connextoo.demo"];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\bUTC\b/;

// The JSON API from inside the page (its session and CSRF token), in the language asked for.
async function api(page, method, path, body, language) {
  return page.evaluate(async ({ method, path, body, language }) => {
    const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": token, Accept: "application/json" };
    if (language) headers["Accept-Language"] = language;
    const response = await fetch(document.body.getAttribute("data-base") + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }, { method, path, body, language });
}

// What a person reads on the page (the main content, without the menus).
const mainText = (page) => page.innerText("main");

test("the journal reads as events: sentences, names, titles with a link, local times", async () => {
  const page = await loggedIn(...ADMIN);
  // Something to journal: the admin changes a customer account from the portal's API.
  const accounts = await api(page, "GET", "/api/v1/records/customer_account?limit=1");
  const account = accounts.body.items[0];
  const changed = await api(page, "PATCH", `/api/v1/records/customer_account/${account.id}`, { phone: "02 98 00 11 22" });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  await page.goto(`${BASE}/t/connextoo/admin/audit`);
  const text = await mainText(page);
  assert.match(text, /Connexion réussie/);
  assert.match(text, /Fiche modifiée/);
  assert.match(text, /Claire Martin/, "people by name");
  assert.doesNotMatch(text, /login\.succeeded|record\.|record:|user:|policies/, "no event codes or raw targets");
  assert.doesNotMatch(text, UUID, "no ids");
  assert.doesNotMatch(text, ISO, "no ISO or UTC times");
  // Local time, the French way, close to now in Paris.
  const first = await page.textContent("#journal tr:first-child time");
  assert.match(first, /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/);
  const paris = new Intl.DateTimeFormat("fr-FR", { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit" }).format(new Date());
  assert.equal(first.slice(11, 13), paris.slice(0, 2), `${first} is Paris time (${paris})`);
  // The changed account: its collection's label, its title, a link to it in the portal.
  const row = page.locator("#journal tr", { hasText: "Fiche modifiée" }).first();
  assert.match(await row.innerText(), /Compte client/);
  assert.match(await row.innerText(), /Champs modifiés : Téléphone/);
  const link = row.locator("a");
  assert.equal(await link.textContent(), account.data.name);
  await page.screenshot({ path: `${SHOTS}admin-journal.png`, fullPage: true });
  await Promise.all([page.waitForURL(/\/c\/customer_account/), link.click()]);
  assert.match(page.url(), new RegExp(account.id));
  // Filtering by kind of event.
  await page.goto(`${BASE}/t/connextoo/admin/audit`);
  await page.selectOption("#a-family", "login.");
  await Promise.all([page.waitForURL(/action=login/), page.click("text=Filtrer")]);
  assert.doesNotMatch(await mainText(page), /Fiche modifiée/);
  assert.match(await mainText(page), /Connexion réussie/);
  await page.context().close();
});

test("a plugin's capabilities read as sentences with its reason, its health as a summary", async () => {
  const page = await loggedIn(...ADMIN);
  await page.goto(`${BASE}/t/connextoo/admin/plugins/telecom`);
  const text = await mainText(page);
  assert.match(text, /Lire les comptes clients/);
  assert.match(text, /Appeler le connecteur SNAIC/);
  assert.match(text, /Raison donnée par l'extension : Rattacher les parcs/);
  assert.doesNotMatch(text, /records_read|connectors:|permissions:|files_read/, "no capability keys");
  assert.doesNotMatch(text, /[{}]|"invocations"|p95_us/, "no raw JSON");
  assert.doesNotMatch(text, /\b1 (appels|erreurs|installations)\b/, "French plurals");
  // The reason is said once for the targets it covers.
  const reasons = await page.locator("#grants legend").allInnerTexts();
  assert.equal(new Set(reasons).size, reasons.length, `each reason once: ${reasons.join(" | ")}`);
  await page.screenshot({ path: `${SHOTS}admin-plugin.png`, fullPage: true });
  // The list of plugins and the marketplace.
  for (const path of ["/admin/plugins", "/admin/marketplace", "/admin/marketplace/telecom", "/admin/notifications", "/admin/approvals"]) {
    await page.goto(`${BASE}/t/connextoo${path}`);
    const shown = await mainText(page);
    assert.doesNotMatch(shown, /\b1 (installations|appels|erreurs)\b|\b0 installations\b/, `${path}: French plurals`);
    assert.doesNotMatch(shown, /[{}]|records_read|\bUTC\b/, `${path}: no raw data`);
    assert.doesNotMatch(shown, UUID, `${path}: no ids`);
    await page.screenshot({ path: `${SHOTS}admin-${path.split("/").filter(Boolean).slice(1).join("-")}.png`, fullPage: true });
  }
  await page.goto(`${BASE}/t/connextoo/admin/marketplace/telecom`);
  await page.screenshot({ path: `${SHOTS}admin-listing.png`, fullPage: true });
  await page.context().close();
});

test("colour pickers show the colour; a light primary is warned about and links stay readable", async () => {
  const page = await loggedIn("atelier-pixel", "julie.moreau@atelier-pixel.demo");
  await page.goto(`${BASE}/t/atelier-pixel/admin/branding`);
  const original = await page.inputValue("#b-primary");
  // Each colour has a native swatch holding the same value as its code.
  for (const key of ["primary", "secondary", "background", "surface", "text"]) {
    assert.equal(await page.getAttribute(`#b-${key}-swatch`, "type"), "color");
    assert.equal((await page.inputValue(`#b-${key}-swatch`)).toLowerCase(), (await page.inputValue(`#b-${key}`)).toLowerCase());
  }
  assert.equal(await page.locator("#contrast-warnings .warning").count(), 0, "the demo's colours read well");
  // Typing a yellow updates the swatch and warns at once, saying what to fix.
  await page.fill("#b-primary", "#f1c40f");
  assert.equal(await page.inputValue("#b-primary-swatch"), "#f1c40f");
  const live = await page.textContent("#contrast-warnings");
  assert.match(live, /4,5:1/);
  assert.match(live, /plus foncée/);
  // Picking with the swatch writes the code.
  await page.locator("#b-secondary-swatch").evaluate((el) => { el.value = "#123456"; el.dispatchEvent(new Event("input", { bubbles: true })); });
  assert.equal(await page.inputValue("#b-secondary"), "#123456");
  await page.fill("#b-secondary", await page.inputValue("#b-secondary-swatch"));
  await page.screenshot({ path: `${SHOTS}admin-branding-warning.png`, fullPage: true });
  // Saved anyway (a brand is the tenant's choice), and still warned about after the save.
  await Promise.all([page.waitForEvent("load"), page.click("#branding-form button[type=submit]")]);
  assert.equal(await page.inputValue("#b-primary"), "#f1c40f");
  assert.match(await page.textContent("#contrast-warnings"), /contraste de 1,\d:1/);
  // The portal keeps links readable: a darker shade of the yellow, AA on white.
  const contrast = await page.evaluate(() => {
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = "x";
    document.querySelector("main").appendChild(link);
    const [r, g, b] = getComputedStyle(link).color.match(/\d+/g).map(Number);
    const lum = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const l = 0.2126 * lum(r) + 0.7152 * lum(g) + 0.0722 * lum(b);
    return 1.05 / (l + 0.05);
  });
  assert.ok(contrast >= 4.5, `links read on white (${contrast.toFixed(2)}:1)`);
  // Back to the demo's colour.
  const restored = await api(page, "PATCH", "/api/v1/admin/tenant", { theme: { primary: original } });
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
  assert.deepEqual(restored.body.contrast_warnings, []);
  await page.context().close();
});

test("admin validation speaks French next to the field, keeps what was typed; English for an English client", async () => {
  const page = await loggedIn(...ADMIN);
  await page.goto(`${BASE}/t/connextoo/admin/users`);
  await page.fill("#u-name", "Jeanne Test");
  await page.fill("#u-email", "pas-une-adresse");
  await page.click("form[data-api$='/admin/users'] button[type=submit]");
  await page.waitForSelector("#u-email[aria-invalid=true]");
  const described = await page.getAttribute("#u-email", "aria-describedby");
  assert.ok(described, "the error describes the field");
  const message = await page.textContent(`#${described.split(" ").pop()}`);
  assert.equal(message, "Cette adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr).");
  assert.equal(await page.inputValue("#u-email"), "pas-une-adresse", "what was typed stays");
  assert.equal(await page.inputValue("#u-name"), "Jeanne Test");
  assert.equal(await page.evaluate(() => document.activeElement.id), "u-email", "focus on the field at fault");
  await page.screenshot({ path: `${SHOTS}admin-user-error.png`, fullPage: true });
  assert.deepEqual((await audit(page)).map((v) => `${v.id}: ${v.nodes.join(" | ")}`), [], "the page with its errors passes axe-core");
  // Corrected, the error goes away with the next try.
  await page.fill("#u-email", "jeanne.test@connextoo.demo");
  await page.fill("#u-name", "");
  await page.click("form[data-api$='/admin/users'] button[type=submit]");
  await page.waitForSelector("#u-name[aria-invalid=true]");
  assert.equal(await page.getAttribute("#u-email", "aria-invalid"), null);
  assert.match(await page.textContent("form[data-api$='/admin/users']"), /Le nom doit compter de 1 à 100 caractères/);

  // Branding: the workspace's name.
  await page.goto(`${BASE}/t/connextoo/admin/branding`);
  await page.fill("#b-name", "");
  await page.click("#branding-form button[type=submit]");
  await page.waitForSelector("#b-name[aria-invalid=true]");
  assert.match(await page.textContent("#branding-form"), /Le nom doit compter de 1 à 80 caractères\./);
  assert.doesNotMatch(await page.textContent("#branding-form"), /must be|name:/);
  // A colour code that is not one.
  await page.fill("#b-name", "Connextoo Télécom");
  await page.fill("#b-text", "noir");
  await page.click("#branding-form button[type=submit]");
  await page.waitForSelector("#b-text[aria-invalid=true]");
  assert.match(await page.textContent("#branding-form"), /« noir » n'est pas une couleur/);

  // Roles: removing one's own administration is refused, in French.
  await page.goto(`${BASE}/t/connextoo/admin/roles`);
  // Claire administers through the Direction role alone.
  const adminRow = page.locator("tbody tr", { has: page.locator("th", { hasText: /^Direction$/ }) });
  assert.ok(await adminRow.locator("input[value=administrer]").isChecked());
  await adminRow.locator("input[value=administrer]").uncheck();
  await adminRow.locator("button[type=submit]").click();
  await page.waitForFunction(() => [...document.querySelectorAll(".form-error")].some((e) => e.textContent.trim()));
  assert.match(await adminRow.innerText(), /permission « Administrer »/);

  // An English client still reads English.
  const english = await api(page, "PATCH", "/api/v1/admin/tenant", { name: "" }, "en");
  assert.equal(english.status, 422);
  assert.equal(english.body.errors[0].field, "name");
  assert.match(english.body.errors[0].detail, /must be 1 to 80 characters/);
  const french = await api(page, "PATCH", "/api/v1/admin/tenant", { name: "" }, "fr-FR,fr;q=0.9");
  assert.equal(french.body.errors[0].detail, "Le nom doit compter de 1 à 80 caractères.");
  assert.equal(french.body.errors[0].code, "validation_failed");
  await page.context().close();
});

test("the admin pages fit a phone and read the same", async () => {
  const phone = { width: 390, height: 844 };
  const page = await loggedIn(ADMIN[0], ADMIN[1], phone);
  const wide = [];
  for (const path of ["/admin/audit", "/admin/plugins/telecom", "/admin/plugins", "/admin/branding", "/admin/users", "/admin/marketplace/telecom"]) {
    await page.goto(`${BASE}/t/connextoo${path}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > phone.width) wide.push(`${path}: ${width} px`);
    await page.screenshot({ path: `${SHOTS}phone-${path.split("/").filter(Boolean).join("-")}.png` });
    const part = { "/admin/branding": "#branding-form fieldset", "/admin/plugins/telecom": "#grants", "/admin/audit": "#journal" }[path];
    if (part) {
      const box = await page.locator(part).boundingBox();
      await page.screenshot({ path: `${SHOTS}phone-${path.split("/").filter(Boolean).join("-")}-detail.png`, fullPage: true, clip: { x: 0, y: box.y, width: phone.width, height: Math.min(box.height, 1400) } });
    }
  }
  assert.deepEqual(wide, [], "pages wider than the phone");
  await page.context().close();
});
