// Seed 001 in a real Chromium, on the demo operator (Connextoo Télécom: telecom + helpdesk from the
// marketplace, 146 lines, October's supplier invoice and billing export already imported as CSV
// files): Direction selects every line and runs a mass action on all of them, sees margins and
// purchase prices, and runs an operator API action through the platform's connector (a fake
// operator started by tests/browser/run); Comptabilité imports November's invoice as a CSV file
// and finds both billing-control anomalies; Support N1 never receives a margin or a purchase
// price, and has no anomaly screen.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, launch, loggedIn, operatorCalls } from "./support.mjs";

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
  assert.match(await compact.textContent(), /Mobile \/ Orange \((1 ligne|\d+ lignes)\)/);
  assert.equal(await compact.locator("li").count(), 0, "no navigator for a single site");
  await kerjean.screenshot({ path: `${SHOTS}telecom-account-mono-site.png`, fullPage: true });
  await kerjean.context().close();
  await Promise.all([direction.waitForURL(/telecom\.line\?f\.account=/), lines.locator("text=Voir la liste complète").click()]);
  const all = Number((await direction.textContent("#list .count")).match(/\d+/)[0]);
  assert.equal(await direction.locator("#list tbody tr").count(), 50, "one page shows 50 lines");

  // Every line of the account, terminated ones included: the plugin refuses, naming the line;
  // no deployment is created.
  await massDeployment(direction, "Déploiement refusé");
  const refusal = await direction.textContent("#toasts");
  assert.match(refusal, /la ligne .* est résiliée/);
  assert.doesNotMatch(refusal, /telecom@/, "the plugin's id belongs in logs, not on the user's screen");
  await direction.goto(`${BASE}/t/connextoo/c/telecom.deployment?q=${encodeURIComponent("Déploiement refusé")}`);
  assert.match(await direction.textContent("#list .count"), /^0 /);
  await direction.goBack();

  // The active ones — the account filter stays when the status filter is added.
  if (!(await direction.isVisible("select[name='f.status']"))) await direction.click(".more-filters summary");
  await direction.selectOption("select[name='f.status']", "active");
  await direction.waitForFunction((n) => !document.querySelector("#list .count").textContent.startsWith(`${n} `), all);
  assert.match(direction.url(), /f\.account=.*f\.status=active|f\.status=active.*f\.account=/);
  const total = Number((await direction.textContent("#list .count")).match(/\d+/)[0]);
  assert.ok(total >= 100 && total < all, `${total} active lines of ${all}`);
  await massDeployment(direction, "Renouvellement de la flotte 2027");
  assert.equal(await direction.textContent("#toasts"), "", "no error");
  assert.match(await direction.textContent("#mass-result"), new RegExp(`${total} enregistrements? traités?`));
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

test("Comptabilité imports the supplier's invoice as a CSV file; the control finds both anomalies in it", async () => {
  const accounting = await loggedIn(browser, "connextoo", "sophie.leroy@connextoo.demo");
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.import`);
  await accounting.click("text=Nouveau");
  await accounting.fill("#in-label", "Facture Orange Business — novembre 2026");
  await accounting.selectOption("#in-kind", "facture_fournisseur");
  await accounting.fill("#in-period", "2026-11");
  // As Orange Business exports it: Windows-1252, CRLF. Line 1 billed above its purchase price
  // (12,50 €), line 2 right, and a line terminated at the end of August still billed.
  const csv = Buffer.from("numéro;libellé;montant HT\r\n06 12 37 01 13;Forfait novembre;15,00\r\n06 12 74 02 26;Forfait novembre;12,50\r\n06 12 96 08 04;Forfait novembre;12,50\r\n", "latin1");
  await accounting.setInputFiles("#in-file", { name: "orange-novembre.csv", mimeType: "text/csv", buffer: csv });
  await accounting.click("#panel .record-form button[type=submit]");
  await accounting.waitForSelector("#panel #panel-fields");
  assert.equal(await accounting.inputValue("#panel #in-rows"), "3", "the plugin read the file's three rows before saving it");
  assert.match(await accounting.textContent("#panel"), /orange-novembre\.csv/);
  await accounting.screenshot({ path: `${SHOTS}telecom-import-file.png`, fullPage: true });

  // A file that is not a CSV invoice is refused with the line at fault; nothing is created.
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.import/new`);
  await accounting.fill("#in-label", "Facture illisible");
  await accounting.selectOption("#in-kind", "facture_fournisseur");
  await accounting.fill("#in-period", "2026-11");
  await accounting.setInputFiles("#in-file", { name: "notes.csv", mimeType: "text/csv", buffer: Buffer.from("bonjour\n") });
  await accounting.click("#panel .record-form button[type=submit]");
  await accounting.waitForSelector("#panel .error, #toasts .toast");
  assert.match(await accounting.textContent("body"), /fichier « notes\.csv », ligne 1 : trois colonnes attendues/);
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.import?q=${encodeURIComponent("Facture illisible")}`);
  assert.match(await accounting.textContent("#list .count"), /^0 /);

  // The control on November's import alone: one terminated line still billed, one price gap.
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.import`);
  await accounting.check(`#list tr:has-text("novembre 2026") input[name=ids]`);
  await accounting.selectOption("#mass-op", "action:telecom/run_billing_control");
  await accounting.click("#mass-form button[type=submit]");
  await accounting.waitForSelector("#mass-result:has-text('anomalie')");
  assert.match(await accounting.textContent("#mass-result"), /3 lignes de facture lues : 2 anomalies nouvelles \(1 ligne résiliée encore facturée, 1 écart de prix d'achat\)/);
  await accounting.goto(`${BASE}/t/connextoo/c/telecom.anomaly?q=${encodeURIComponent("2026-11")}`);
  const list = await accounting.textContent("#list");
  assert.match(list, /Ligne \+33612968804|06 12 96 08 04|résiliée le 2026-08-31/);
  assert.match(list, /prix d'achat facturé 15,00/);
  await accounting.context().close();
});

test("Direction runs an operator API action on selected lines through the platform's connector; a line the operator does not know is reported", async () => {
  const direction = await loggedIn(browser, "connextoo", "claire.martin@connextoo.demo");
  const before = operatorCalls().length;
  // Boulangerie Kerjean's lines: its Orange parc goes through `snaic`, its internet parc through `alphalink`.
  await direction.goto(`${BASE}/t/connextoo/c/customer_account`);
  await direction.click(`#list >> text="Boulangerie Kerjean"`);
  await direction.waitForURL(/open=/);
  const account = new URL(direction.url()).searchParams.get("open");
  await direction.goto(`${BASE}/t/connextoo/c/telecom.line?f.account=${account}`);
  const count = await direction.locator("#list tbody tr").count();
  await direction.check("[data-select-all]");
  await direction.selectOption("#mass-op", "action:telecom/operator_action");
  await direction.selectOption("#mass-form [name='param.telecom/operator_action.operation']", "get_status");
  await direction.click("#mass-form button[type=submit]");
  await direction.waitForSelector("#mass-result:has-text('opérateur')");
  assert.match(await direction.textContent("#mass-result"), new RegExp(`${count} lignes? traitées? chez l'opérateur`));
  const calls = operatorCalls().slice(before);
  assert.equal(calls.length, count, JSON.stringify(calls));
  for (const call of calls) {
    assert.ok(call.authorized, "the platform sent the connector's token, which the plugin never sees");
    assert.match(call.path, /^\/(snaic|alphalink)\/get-status$/);
    assert.equal(call.body.tenant, "connextoo");
    assert.equal(call.body.plugin, "telecom");
  }
  assert.ok(calls.some((c) => c.path.startsWith("/snaic/")) && calls.some((c) => c.path.startsWith("/alphalink/")), "each line through its parc's connector");
  // Their calls, fetched from the telephony (`3cx` connector), become communications on the line.
  await direction.waitForSelector("#list tbody tr");
  await direction.check("[data-select-all]");
  await direction.selectOption("#mass-op", "action:telecom/fetch_calls");
  await direction.click("#mass-form button[type=submit]");
  await direction.waitForSelector("#mass-result:has-text('appel')");
  assert.match(await direction.textContent("#mass-result"), new RegExp(`${2 * count} appels? récupérés? sur ${count} lignes?, 0 déjà connu`));
  await direction.click("#list tbody tr:first-child th a, #list tbody tr:first-child td a >> nth=0");
  const communications = direction.locator("#panel section.related", { has: direction.locator("h3", { hasText: "Communications" }) });
  await communications.locator("text=Question sur la facture de la ligne").waitFor();
  await direction.screenshot({ path: `${SHOTS}telecom-line-communications.png`, fullPage: true });

  // The operator's reference is kept on the line.
  const first = calls.find((c) => c.path.startsWith("/snaic/"));
  await direction.goto(`${BASE}/t/connextoo/c/telecom.line?q=${encodeURIComponent(first.body.input.number)}`);
  await direction.click("#list tbody tr:first-child th a, #list tbody tr:first-child td a >> nth=0");
  await direction.waitForSelector("#panel #panel-fields");
  assert.match(await direction.textContent("#panel"), new RegExp(`OP-${first.body.input.number.replace(/\D/g, "")}`));

  // Suspending a line the operator does not know: refused by the operator, named in the result.
  await direction.goto(`${BASE}/t/connextoo/c/telecom.line?q=${encodeURIComponent("+33612512399")}`);
  await direction.check("#list tbody tr:first-child input[name=ids]");
  await direction.selectOption("#mass-op", "action:telecom/operator_action");
  await direction.selectOption("#mass-form [name='param.telecom/operator_action.operation']", "suspend_line");
  await direction.click("#mass-form button[type=submit]");
  await direction.waitForSelector("#mass-result:has-text('opérateur')");
  const result = await direction.textContent("#mass-result");
  assert.match(result, /0 ligne traitée chez l'opérateur, 1 en échec/);
  assert.match(result, /inconnue chez l'opérateur/);
  await direction.screenshot({ path: `${SHOTS}telecom-operator-action.png`, fullPage: true });
  await direction.context().close();
});

test("Times are shown and typed in the reader's time zone (Paris), stored as instants", async () => {
  const direction = await loggedIn(browser, "connextoo", "claire.martin@connextoo.demo");
  await direction.goto(`${BASE}/t/connextoo/c/telecom.communication?view=telecom/communications_recentes`);
  // Stored 2026-11-18T06:12:00Z; Paris is UTC+1 in November.
  const row = direction.locator("#list tbody tr", { hasText: "Coupure internet signalée" });
  assert.match(await row.textContent(), /18\/11\/2026 07:12/);
  await row.locator("a").first().click();
  await direction.waitForSelector("#panel #panel-fields");
  assert.equal(await direction.inputValue("#panel #in-occurred_at"), "2026-11-18T07:12");
  const id = new URL(direction.url()).searchParams.get("open");
  await direction.fill("#panel #in-occurred_at", "2026-11-18T08:30");
  await direction.locator("#panel #in-occurred_at").dispatchEvent("change");
  await direction.waitForSelector("#status-occurred_at:has-text('Enregistré')");
  const stored = await (await direction.request.get(`${BASE}/t/connextoo/api/v1/records/telecom.communication/${id}`)).json();
  assert.match(stored.data.occurred_at, /^2026-11-18T07:30:00/, "08:30 in Paris is 07:30 UTC");
  await direction.context().close();
});
