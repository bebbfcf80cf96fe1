// Seed 001 in a real Chromium, on the demo operator (Connextoo Télécom: telecom + helpdesk from the
// marketplace, 146 lines, October's supplier invoice and billing export already imported):
// Direction selects every line and runs a mass action on all of them, sees margins and purchase
// prices; Comptabilité finds both billing-control anomalies; Support N1 never receives a margin
// or a purchase price, and has no anomaly screen.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, launch, loggedIn } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function massDeployment(page, title) {
  await page.check("[data-select-all]");
  await page.click("[data-select-matching]");
  await page.selectOption("#mass-op", "action:telecom/create_deployment");
  await page.fill("#mass-form [name='param.telecom/create_deployment.title']", title);
  await page.selectOption("#mass-form [name='param.telecom/create_deployment.kind']", "modification");
  await page.click("#mass-form button[type=submit]");
  await page.waitForSelector("#mass-result:not(:empty), #toasts .toast", { timeout: 60000 });
}

test("Direction runs one mass action on over a hundred lines of an account, across pages; a refused line changes nothing", async () => {
  const direction = await loggedIn(browser, "connextoo", "claire.martin@connextoo.demo");
  // From the account to its lines: the panel lists the records pointing at it.
  await direction.goto(`${BASE}/t/connextoo/c/customer_account`);
  await direction.click(`#list >> text="Transports Le Goff"`);
  const lines = direction.locator("#panel section.related", { has: direction.locator("h3", { hasText: "Lignes et services" }) });
  await lines.waitFor();
  // A multi-site account gets a site navigator; a mono-site one a compact site block.
  const sites = direction.locator("#panel section.plugin-panel[aria-label='Sites et parcs']");
  await sites.locator("text=/\\d+ sites/").waitFor();
  assert.ok(await sites.locator("li").count() >= 2, await sites.textContent());
  const kerjean = await loggedIn(browser, "connextoo", "claire.martin@connextoo.demo");
  await kerjean.goto(`${BASE}/t/connextoo/c/customer_account`);
  await kerjean.click(`#list >> text="Boulangerie Kerjean"`);
  const compact = kerjean.locator("#panel section.plugin-panel[aria-label='Sites et parcs']");
  await compact.locator("b").waitFor();
  assert.match(await compact.textContent(), /Mobile \/ Orange \(\d+ ligne\(s\)\)/);
  assert.equal(await compact.locator("li").count(), 0, "no navigator for a single site");
  await kerjean.screenshot({ path: `${SHOTS}telecom-account-mono-site.png`, fullPage: true });
  await kerjean.context().close();
  await Promise.all([direction.waitForURL(/telecom\.line\?f\.account=/), lines.locator("text=Tout voir").click()]);
  const all = Number((await direction.textContent("#list .count")).match(/\d+/)[0]);
  assert.equal(await direction.locator("#list tbody tr").count(), 50, "one page shows 50 lines");

  // Every line of the account, terminated ones included: the plugin refuses, naming the line;
  // no deployment is created.
  await massDeployment(direction, "Déploiement refusé");
  assert.match(await direction.textContent("#toasts"), /telecom@1\.0\.0.*est résiliée/);
  await direction.goto(`${BASE}/t/connextoo/c/telecom.deployment?q=${encodeURIComponent("Déploiement refusé")}`);
  assert.match(await direction.textContent("#list .count"), /^0 /);
  await direction.goBack();

  // The active ones — the account filter stays when the status filter is added.
  await direction.selectOption("select[name='f.status']", "active");
  await direction.waitForFunction((n) => !document.querySelector("#list .count").textContent.startsWith(`${n} `), all);
  assert.match(direction.url(), /f\.account=.*f\.status=active|f\.status=active.*f\.account=/);
  const total = Number((await direction.textContent("#list .count")).match(/\d+/)[0]);
  assert.ok(total >= 100 && total < all, `${total} active lines of ${all}`);
  await massDeployment(direction, "Renouvellement de la flotte 2027");
  assert.equal(await direction.textContent("#toasts"), "", "no error");
  assert.match(await direction.textContent("#mass-result"), new RegExp(`${total} enregistrement\\(s\\) traité\\(s\\)`));
  await direction.screenshot({ path: `${SHOTS}telecom-mass-action.png`, fullPage: true });

  // The deployment is there.
  await direction.goto(`${BASE}/t/connextoo/c/telecom.deployment`);
  await direction.click("#list >> text=Renouvellement de la flotte 2027");
  await direction.waitForSelector("#panel #panel-fields");
  await direction.screenshot({ path: `${SHOTS}telecom-deployment.png`, fullPage: true });
  await direction.context().close();
});

test("Direction sees margins; Support N1 never receives them; Comptabilité finds both billing anomalies", async () => {
  const direction = await loggedIn(browser, "connextoo", "claire.martin@connextoo.demo");
  await direction.goto(`${BASE}/t/connextoo/c/telecom.line?view=telecom/lignes_actives`);
  const head = await direction.textContent("#list thead");
  assert.match(head, /Marge/);
  assert.match(head, /Prix d'achat/);
  await direction.click("#list tbody tr:first-child th a, #list tbody tr:first-child td a >> nth=0");
  await direction.waitForSelector("#panel #panel-fields");
  assert.match(await direction.textContent("#panel"), /Marge/);
  await direction.screenshot({ path: `${SHOTS}telecom-line-direction.png`, fullPage: true });

  const n1 = await loggedIn(browser, "connextoo", "lucas.bernard@connextoo.demo");
  await n1.goto(`${BASE}/t/connextoo/c/telecom.line?view=telecom/lignes_actives`);
  await n1.click("#list tbody tr:first-child th a, #list tbody tr:first-child td a >> nth=0");
  await n1.waitForSelector("#panel #panel-fields");
  const html = await n1.content();
  assert.doesNotMatch(html, /Marge|Prix d'achat|purchase_price|margin/, "the margin and purchase price are absent from Support N1's HTML");
  assert.doesNotMatch(await n1.textContent(".side-nav"), /Anomalies/, "no anomaly screen for Support N1");
  await n1.screenshot({ path: `${SHOTS}telecom-line-support-n1.png`, fullPage: true });

  const accounting = await loggedIn(browser, "connextoo", "sophie.leroy@connextoo.demo");
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.anomaly?view=telecom/anomalies_a_corriger`);
  const anomalies = await accounting.textContent("#list");
  assert.match(anomalies, /Ligne résiliée encore facturée/);
  assert.match(anomalies, /Écart de prix d'achat/);
  await accounting.screenshot({ path: `${SHOTS}telecom-billing-anomalies.png`, fullPage: true });
  const before = await accounting.textContent("#list .count");
  assert.match(before, /[1-9]\d* enregistrement/);

  // Running the control again from the imports finds nothing new.
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.import`);
  await accounting.check("[data-select-all]");
  await accounting.selectOption("#mass-op", "action:telecom/run_billing_control");
  await accounting.click("#mass-form button[type=submit]");
  await accounting.waitForSelector("#mass-result:has-text('traité')");
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.anomaly?view=telecom/anomalies_a_corriger`);
  assert.equal(await accounting.textContent("#list .count"), before, "the same anomalies, none twice");
  for (const page of [direction, n1, accounting]) await page.context().close();
});
