// The ten findings of the customer-ready review, replayed in a real Chromium as the person who met
// each: the agency's client, its support team, the telecom operator's Direction, Support N1 and
// Comptabilité, a tenant admin. Each test failed before the fix it names.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, launch, loggedIn, mails } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const AP = "atelier-pixel";
const CX = "connextoo";
const CLIENT = "marc.durand@client-exemple.demo";

// A request sent by hand from the page, with the session and its CSRF token (what a user could
// craft with the browser's tools): its status.
async function post(page, path, fields) {
  return page.evaluate(async ({ url, body }) => {
    const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
    const response = await fetch(url, { method: "POST", headers: { "X-CSRF-Token": token, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body).toString() });
    return response.status;
  }, { url: `${BASE}${path}`, body: fields });
}

async function openRecord(page, slug, collection, text) {
  await page.goto(`${BASE}/t/${slug}/c/${collection}?q=${encodeURIComponent(text)}`);
  await page.click(`#list >> text=${text}`);
  await page.waitForSelector("#panel #panel-fields");
  return page.getAttribute("#panel [data-panel-id]", "data-panel-id");
}

test("1. the agency's client cannot take charge of, escalate, re-time or mark read his ticket, nor edit the agency's project", async () => {
  const client = await loggedIn(browser, AP, CLIENT);
  const subject = "Les relances de J+15 ne sont pas parties ce mois-ci";
  const id = await openRecord(client, AP, "helpdesk.ticket", subject);
  const panel = await client.textContent("#panel");
  for (const staffOnly of ["Prendre en charge", "Escalader en N2", "Marquer comme lu", "Lier un article", "Suivi SLA"]) {
    assert.ok(!panel.includes(staffOnly), `the client is not offered « ${staffOnly} »`);
  }
  for (const field of ["level", "sla_minutes", "assignee", "resolved_at", "sla_breached", "unread", "account"]) {
    assert.equal(await client.locator(`#panel #panel-fields [name=value]#in-${field}`).count(), 0, `« ${field} » is not editable by the client`);
  }
  await client.screenshot({ path: `${SHOTS}ready-client-ticket.png`, fullPage: true });
  // Crafted by hand, the same changes are refused and change nothing.
  const version = await client.inputValue(`#version-${id}`);
  assert.equal(await post(client, `/t/${AP}/c/helpdesk.ticket/${id}/transitions/start`, { version }), 403);
  for (const [field, value] of [["sla_minutes", "99999"], ["level", "n2"], ["assignee", "marc.durand@client-exemple.demo"]]) {
    await post(client, `/t/${AP}/c/helpdesk.ticket/${id}/fields/${field}`, { value, version, original: "" });
  }
  await post(client, `/t/${AP}/c/helpdesk.ticket/mass`, { ids: id, op: "action:helpdesk/mark_read" });
  // What the team sees is unchanged.
  const support = await loggedIn(browser, AP, "thomas.petit@atelier-pixel.demo");
  await support.goto(`${BASE}/t/${AP}/c/helpdesk.ticket/${id}`);
  await support.waitForSelector("#panel #panel-fields");
  assert.match(await support.textContent("#panel #record-state"), /Ouvert/, "still open: nobody took charge");
  assert.equal(await support.inputValue("#panel #in-level"), "n1");
  assert.notEqual(await support.inputValue("#panel #in-sla_minutes"), "99999");
  assert.equal(await support.inputValue("#panel #in-assignee"), "");
  await support.context().close();
  // Internal views are not the client's; his creation form asks only what a client fills in.
  const menus = `${await client.textContent(".side-nav")} ${await client.textContent("nav.views")}`;
  for (const internal of ["Tickets N2", "Messages clients non lus", "Tickets urgents en cours", "Commentaires internes", "Réponses", "Base de connaissances"]) {
    assert.ok(!menus.includes(internal), `the client's menus do not offer « ${internal} »`);
  }
  await client.goto(`${BASE}/t/${AP}/c/helpdesk.ticket/new`);
  const asked = await client.$$eval("#panel form.record-form .field label", (labels) => labels.map((l) => l.textContent.replace("*", "").trim()));
  assert.deepEqual(asked.filter((l) => /Niveau|Assigné|SLA|Résolu|Escalad|Ouvert par|non lu|Numéro/.test(l)), [], `internal fields in the client's form: ${asked.join(", ")}`);
  // The agency's project: read, never edited.
  const project = await openRecord(client, AP, "helpdesk.project", "Site vitrine Durand Immobilier");
  assert.equal(await client.locator("#panel #panel-fields [name=value]").count(), 0, "no input on the project");
  const projectVersion = await client.inputValue(`#version-${project}`);
  await post(client, `/t/${AP}/c/helpdesk.project/${project}/fields/name`, { value: "Renommé par le client", version: projectVersion, original: "Site vitrine Durand Immobilier" });
  await client.reload();
  assert.match(await client.textContent("#panel-title"), /Site vitrine Durand Immobilier/, "the project keeps its name");
  await client.context().close();
});

test("2. a line's margin follows its price and cannot be typed; 14,90 is 14,90 €", async () => {
  const direction = await loggedIn(browser, CX, "claire.martin@connextoo.demo");
  await openRecord(direction, CX, "telecom.line", "06 12 90 70 10");
  assert.equal(await direction.locator("#panel #panel-fields [name=value]#in-margin").count(), 0, "the margin is not an input");
  const purchase = Number((await direction.inputValue("#panel #in-purchase_price")).replace(/\s/g, "").replace(",", "."));
  await direction.fill("#panel #in-sale_price", "14,90");
  await direction.locator("#panel #in-sale_price").blur();
  await direction.waitForFunction(() => /Enregistré/.test(document.getElementById("status-sale_price")?.textContent || ""));
  await direction.reload();
  await direction.waitForSelector("#panel #panel-fields");
  assert.equal(await direction.inputValue("#panel #in-sale_price"), "14,90");
  const margin = (await direction.textContent("#panel #in-margin")).replace(/\s/g, " ").trim();
  const expected = (14.9 - purchase).toFixed(2).replace(".", ",");
  assert.equal(margin, `${expected} €`, "the margin is the new price less the purchase price");
  await direction.screenshot({ path: `${SHOTS}ready-margin.png`, fullPage: true });
  await direction.context().close();
});

test("3. a conflict left alone keeps the colleague's value", async () => {
  const julie = await loggedIn(browser, AP, "julie.moreau@atelier-pixel.demo");
  const thomas = await loggedIn(browser, AP, "thomas.petit@atelier-pixel.demo");
  const id = await openRecord(julie, AP, "customer_account", "Mairie de Plomelin");
  await openRecord(thomas, AP, "customer_account", "Mairie de Plomelin");
  await julie.fill("#panel #in-phone", "02 98 94 00 01");
  await julie.locator("#panel #in-phone").blur();
  await julie.waitForFunction(() => /Enregistré/.test(document.getElementById("status-phone")?.textContent || ""));
  // Thomas's panel is older: his change meets Julie's.
  await thomas.fill("#panel #in-phone", "02 98 94 99 99");
  await thomas.locator("#panel #in-phone").blur();
  await thomas.waitForSelector("#conflict-phone .conflict");
  assert.match(await thomas.textContent("#conflict-phone"), /02 98 94 00 01/);
  // He clicks elsewhere, types elsewhere: nothing is overwritten without his explicit choice.
  await thomas.click("#panel-title");
  await thomas.fill("#panel #in-email", "accueil@mairie-plomelin.demo");
  await thomas.waitForTimeout(1500);
  const fresh = await loggedIn(browser, AP, "julie.moreau@atelier-pixel.demo");
  await fresh.goto(`${BASE}/t/${AP}/c/customer_account/${id}`);
  await fresh.waitForSelector("#panel #panel-fields");
  assert.equal(await fresh.inputValue("#panel #in-phone"), "02 98 94 00 01", "the colleague's value stands");
  await thomas.screenshot({ path: `${SHOTS}ready-conflict.png`, fullPage: true });
  for (const page of [julie, thomas, fresh]) await page.context().close();
});

test("4. the admin uninstalls a plugin and creates a client user attached to an account, who gets the invitation", async () => {
  const admin = await loggedIn(browser, AP, "julie.moreau@atelier-pixel.demo");
  await admin.goto(`${BASE}/t/${AP}/admin/marketplace`);
  await admin.click("#catalogue >> text=Plugin exemplaire");
  await admin.waitForSelector(".install-form");
  await Promise.all([admin.waitForEvent("load"), admin.click("#install-button")]);
  await admin.waitForSelector("#install-state");
  admin.once("dialog", (dialog) => dialog.accept());
  await Promise.all([admin.waitForEvent("load"), admin.click("button:has-text('Désinstaller')")]);
  assert.doesNotMatch(await admin.textContent("main"), /Installé : v1\.0\.0/, "uninstalled");

  await admin.goto(`${BASE}/t/${AP}/admin/users`);
  await admin.fill("#u-name", "Anne Le Bihan");
  await admin.fill("#u-email", "anne@fromagerie-lebihan.demo");
  await admin.selectOption("#u-type", "client");
  const roles = await admin.$$eval("#u-role option", (options) => options.filter((o) => !o.hidden && !o.disabled).map((o) => o.value));
  assert.deepEqual(roles, ["client"], "a client may only be given the client role");
  await admin.selectOption("#u-account", { label: "Fromagerie Le Bihan" });
  await Promise.all([admin.waitForEvent("load"), admin.click("form[data-api$='/admin/users'] button[type=submit]")]);
  assert.match(await admin.textContent("main"), /anne@fromagerie-lebihan\.demo/);
  let invitation;
  for (let i = 0; i < 50 && !invitation; i++) {
    invitation = mails().find((m) => m.to.includes("anne@fromagerie-lebihan.demo") && /ouvert un accès/.test(m.text));
    if (!invitation) await admin.waitForTimeout(200);
  }
  assert.ok(invitation, "the invitation mail arrived");
  assert.match(invitation.text, /\/reset-password\?token=/);
  await admin.context().close();
});

test("5. a phone page has no sideways scroll", async () => {
  const page = await loggedIn(browser, CX, "lucas.bernard@connextoo.demo", { width: 360, height: 780 });
  for (const path of ["/", "/c/telecom.line", "/account"]) {
    await page.goto(`${BASE}/t/${CX}${path}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 360, path);
  }
  await page.context().close();
});

test("6. search finds a number as people type it, a ticket by number or client, and ranks an account above its lines", async () => {
  const n1 = await loggedIn(browser, CX, "lucas.bernard@connextoo.demo");
  await n1.goto(`${BASE}/t/${CX}/c/telecom.line?q=${encodeURIComponent("06 12 90 70 10")}`);
  assert.match(await n1.textContent("#list"), /06 12 90 70 10/);
  await n1.goto(`${BASE}/t/${CX}/search?q=0612907010`);
  assert.match(await n1.textContent("main"), /06 12 90 70 10/);
  await n1.goto(`${BASE}/t/${CX}/search?q=${encodeURIComponent("Transports Le Goff")}`);
  const first = await n1.textContent(".search-hits li:first-child");
  assert.match(first, /Comptes? clients?|Compte client/, `the account comes first: ${first}`);
  await n1.context().close();
  const support = await loggedIn(browser, AP, "thomas.petit@atelier-pixel.demo");
  for (const q of ["AP-00002", "Durand Immobilier", "Automatisation des relances"]) {
    await support.goto(`${BASE}/t/${AP}/c/helpdesk.ticket?q=${encodeURIComponent(q)}`);
    assert.match(await support.textContent("#list"), /Les relances de J\+15/, `the ticket list finds « ${q} »`);
  }
  await support.context().close();
});

test("7. a forbidden page, a stale link and a bad filter are pages in French with a way back", async () => {
  const n1 = await loggedIn(browser, CX, "lucas.bernard@connextoo.demo");
  for (const [path, status, title] of [
    ["/admin/users", 403, /Accès refusé/],
    ["/c/telecom.anomaly", 404, /introuvable/],
    ["/c/telecom.line/0190a1b2-0000-7000-8000-000000000000", 404, /introuvable/],
    ["/c/telecom.line?f.nope=1", 400, /Demande incomprise/],
  ]) {
    const response = await n1.goto(`${BASE}/t/${CX}${path}`);
    assert.equal(response.status(), status, path);
    assert.match(response.headers()["content-type"], /text\/html/);
    const text = await n1.textContent("main");
    assert.match(text, title, path);
    assert.doesNotMatch(text, /[{}"]code"|"detail"/, "no JSON body");
    assert.ok(await n1.locator("main a").count() > 0, "a way back");
  }
  await n1.screenshot({ path: `${SHOTS}ready-forbidden.png`, fullPage: true });
  await n1.context().close();
});

test("8. each home shows what the person works on; the navigation is grouped, without parts that live inside their parent", async () => {
  const client = await loggedIn(browser, AP, CLIENT);
  const home = await client.textContent("main");
  assert.match(home, /Mes projets actifs/);
  assert.match(home, /Site vitrine Durand Immobilier/);
  assert.match(home, /Mes tickets en cours par projet/);
  assert.match(home, /Ouvrir un ticket/);
  assert.doesNotMatch(home, /Vos permissions|Aucun$/m);
  const groups = await client.$$eval(".nav-group-label", (labels) => labels.map((l) => l.textContent));
  assert.ok(groups.includes("Mes demandes"), groups.join(", "));
  await client.screenshot({ path: `${SHOTS}ready-home-client.png`, fullPage: true });
  await client.context().close();

  const support = await loggedIn(browser, AP, "thomas.petit@atelier-pixel.demo");
  assert.match(await support.textContent("main"), /Mes tickets en cours[\s\S]*Les nouvelles annonces/);
  await support.context().close();

  const accounting = await loggedIn(browser, CX, "sophie.leroy@connextoo.demo");
  assert.match(await accounting.textContent(".widget:first-child"), /Anomalies de facturation à corriger/);
  const nav = await accounting.textContent(".side-nav");
  for (const child of ["Opérations de déploiement", "Réponses", "Commentaires internes", "Sites de facturation"]) {
    assert.ok(!nav.includes(child), `« ${child} » is reached from its parent, not the menu`);
  }
  await accounting.screenshot({ path: `${SHOTS}ready-home-accounting.png`, fullPage: true });
  await accounting.context().close();
});

test("9. panels, threads and history read as people write: local times, labels, no ids", async () => {
  const support = await loggedIn(browser, AP, "thomas.petit@atelier-pixel.demo");
  await openRecord(support, AP, "helpdesk.ticket", "Les nouvelles annonces n'apparaissent pas sur le site");
  await support.waitForSelector("#panel .plugin-panel p:not(.hint), #panel .plugin-panel ul, #panel .plugin-panel dl");
  const text = await support.textContent("#panel");
  assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|UTC|\(project\)|\(articles\)/, "no ISO times, UTC or link codes");
  assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/, "no record ids");
  await support.context().close();
});

test("10. exports for who may export; no suspend for Comptabilité; no invoicing for Support N1; the keyboard gets back to the row", async () => {
  const direction = await loggedIn(browser, CX, "claire.martin@connextoo.demo");
  await direction.goto(`${BASE}/t/${CX}/c/telecom.line`);
  assert.ok(await direction.isVisible("a[href*='export.csv']"), "Direction may export");
  await direction.context().close();

  const accounting = await loggedIn(browser, CX, "sophie.leroy@connextoo.demo");
  await openRecord(accounting, CX, "telecom.line", "06 12 90 70 10");
  assert.equal(await accounting.locator("#panel [data-transition=suspend]").count(), 0, "Comptabilité cannot suspend a line");
  await accounting.context().close();

  const n1 = await loggedIn(browser, CX, "lucas.bernard@connextoo.demo");
  await n1.goto(`${BASE}/t/${CX}/c/telecom.line`);
  assert.equal(await n1.locator("a[href*='export.csv']").count(), 0, "Support N1 may not export");
  await n1.goto(`${BASE}/t/${CX}/c/telecom.deployment`);
  await n1.click("#list tbody tr:first-child a");
  await n1.waitForSelector("#panel #panel-fields");
  assert.equal(await n1.locator("#panel [data-transition=billed]").count(), 0, "Support N1 cannot mark a deployment invoiced");
  // Closing the panel gives the focus back to the row that opened it.
  await n1.click("#panel .close");
  await n1.waitForFunction(() => document.getElementById("panel").children.length === 0);
  assert.equal(await n1.evaluate(() => document.activeElement?.closest("tr")?.matches("#list tbody tr:first-child") ?? false), true, "focus is back on the row");
  // The skip link is the first stop; suggestions of the global search are reached with the arrows.
  await n1.reload();
  await n1.keyboard.press("Tab");
  assert.equal(await n1.evaluate(() => document.activeElement.className), "skip-link");
  await n1.fill("#global-search", "Kerjean");
  await n1.waitForSelector("#search-suggestions a");
  await n1.focus("#global-search");
  await n1.keyboard.press("ArrowDown");
  assert.equal(await n1.evaluate(() => document.activeElement.closest("#search-suggestions") !== null), true, "ArrowDown enters the suggestions");
  await n1.keyboard.press("Escape");
  assert.equal(await n1.evaluate(() => document.activeElement.id), "global-search");
  await n1.context().close();
});
