// The portal in a real Chromium, as the demo's users would use it. Run by tests/browser/run,
// which starts a fresh Socle with the demo tenants and a plugin in the marketplace.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, audit, launch, loggedIn as logIn } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const loggedIn = (slug, email, viewport) => logIn(browser, slug, email, viewport);

test("the accessibility audit every page gets does find violations (a page made to fail)", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.setContent(`<html lang="fr"><head><title>Échec voulu</title></head><body><main><img src="x.png"><input type="text"><a href="/x"></a></main></body></html>`);
  const found = (await audit(page)).map((v) => v.id).sort();
  assert.deepEqual(found, ["image-alt", "label", "link-name"], JSON.stringify(found));
  await page.context().close();
});

async function primaryColour(page) {
  return page.evaluate(() => getComputedStyle(document.querySelector(".brand-bar")).backgroundColor);
}

test("two tenants show two brands", async () => {
  const connextoo = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  const agency = await loggedIn("atelier-pixel", "julie.moreau@atelier-pixel.demo");
  assert.equal(await connextoo.textContent(".brand-name"), "Connextoo Télécom");
  assert.equal(await agency.textContent(".brand-name"), "Atelier Pixel");
  assert.notEqual(await primaryColour(connextoo), await primaryColour(agency));
  assert.equal(await connextoo.getAttribute("html", "lang"), "fr");
  await connextoo.screenshot({ path: `${SHOTS}home-connextoo.png`, fullPage: true });
  await agency.screenshot({ path: `${SHOTS}home-atelier-pixel.png`, fullPage: true });
  await connextoo.context().close();
  await agency.context().close();
});

test("an admin installs a plugin from the catalogue, consenting to its permissions", async () => {
  const page = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  await page.click("text=Administration");
  await page.waitForURL(/\/admin\/marketplace/);
  await page.click("#catalogue >> text=Plugin exemplaire");
  await page.waitForSelector(".install-form");
  const asked = await page.locator(".install-form input[name=grants]").count();
  assert.ok(asked >= 3, `the listing shows each permission with its reason (${asked})`);
  await page.screenshot({ path: `${SHOTS}marketplace-listing.png`, fullPage: true });
  await Promise.all([page.waitForEvent("load"), page.click("#install-button")]);
  await page.waitForSelector("#install-state");
  assert.match(await page.textContent("#install-state"), /Installé : v1\.0\.0/);
  await page.goto(`${BASE}/t/connextoo/admin/plugins`);
  assert.ok(await page.isVisible("text=Plugin exemplaire"));
  await page.screenshot({ path: `${SHOTS}admin-plugins.png`, fullPage: true });
  await page.context().close();
});

test("a record is created, then edited inline and saved without a save button", async () => {
  const page = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  await page.goto(`${BASE}/t/connextoo/c/customer_account`);
  await page.click("text=Nouveau");
  await page.waitForSelector("#panel form.record-form");
  await page.fill("#panel #in-name", "Boulangerie Kerjean Navigateur");
  await page.click("#panel button[type=submit]");
  await page.waitForSelector("#panel #panel-fields");
  assert.equal(await page.textContent("#panel-title"), "Boulangerie Kerjean Navigateur");
  assert.ok(await page.isVisible(`#list >> text=Boulangerie Kerjean Navigateur`), "the list refreshed with the new record");
  // Inline edit: type, wait for the automatic save, reload, the value is there.
  await page.fill("#panel #in-phone", "02 98 12 34 56");
  await page.waitForSelector("#status-phone:has-text('Enregistré')");
  await page.screenshot({ path: `${SHOTS}record-panel.png`, fullPage: true });
  await page.reload();
  assert.equal(await page.inputValue("#panel #in-phone"), "02 98 12 34 56", "the URL keeps the panel open and the value was saved (read back as people write it)");
  // The history shows the change.
  assert.match(await page.textContent("#panel .timeline"), /Téléphone/);
  await page.context().close();
});

test("several records are selected and changed by one mass action", async () => {
  const page = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  await page.goto(`${BASE}/t/connextoo/c/customer_account`);
  for (const name of ["Mass A", "Mass B", "Mass C"]) {
    await page.click("text=Nouveau");
    await page.waitForSelector("#panel form.record-form");
    await page.fill("#panel #in-name", `Client ${name}`);
    await page.click("#panel button[type=submit]");
    await page.waitForSelector("#panel #panel-fields");
  }
  await page.fill("#list-q", "Client Mass");
  await page.waitForFunction(() => document.querySelectorAll("#list tbody tr[data-id]").length === 3);
  assert.ok(await page.isHidden("#mass-form"), "the mass bar appears only with a selection");
  await page.check("[data-select-all]");
  assert.equal(await page.textContent("[data-selected-count]"), "3");
  await page.selectOption("#mass-op", "set:status");
  await page.selectOption("#mass-form .mass-params:not([hidden]) select", "actif");
  await page.click("#mass-form button[type=submit]");
  await page.waitForSelector("#mass-result:has-text('3 enregistrements traités')");
  await page.waitForFunction(() => [...document.querySelectorAll("#list tbody tr[data-id]")].every((row) => row.textContent.includes("Actif")));
  // The panel still open on the last record shows the new status too.
  await page.waitForFunction(() => document.querySelector("#panel #in-status")?.value === "actif");
  await page.screenshot({ path: `${SHOTS}mass-action.png`, fullPage: true });
  await page.context().close();
});

test("global search finds a record and opens it", async () => {
  const page = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  await page.goto(`${BASE}/t/connextoo/c/customer_account`);
  await page.click("text=Nouveau");
  await page.waitForSelector("#panel form.record-form");
  await page.fill("#panel #in-name", "Crêperie Ty Breizh");
  await page.click("#panel button[type=submit]");
  await page.waitForSelector("#panel #panel-fields");
  await page.fill("#global-search", "creperie");
  await page.waitForSelector("#search-suggestions >> text=Crêperie Ty Breizh");
  await page.screenshot({ path: `${SHOTS}search.png` });
  await Promise.all([page.waitForURL(/open=/), page.click("#search-suggestions >> text=Crêperie Ty Breizh")]);
  assert.equal(await page.textContent("#panel-title"), "Crêperie Ty Breizh");
  await page.context().close();
});

test("Support N1 never receives the purchase price that Direction sees", async () => {
  const direction = await loggedIn("connextoo", "claire.martin@connextoo.demo");
  await direction.goto(`${BASE}/t/connextoo/c/catalogue_item`);
  await direction.click("text=Nouveau");
  await direction.waitForSelector("#panel form.record-form");
  await direction.fill("#panel #in-code", "FIBRE-PRO-1G");
  await direction.fill("#panel #in-label", "Forfait Fibre Pro 1 Gb");
  await direction.selectOption("#panel #in-kind", "forfait");
  await direction.fill("#panel #in-sale_price", "59.90");
  await direction.fill("#panel #in-purchase_price", "31.17");
  await direction.click("#panel button[type=submit]");
  await direction.waitForSelector("#panel #panel-fields");
  assert.match(await direction.content(), /Prix d'achat/);
  assert.match(await direction.content(), /31[,.]17/);

  const n1 = await loggedIn("connextoo", "lucas.bernard@connextoo.demo");
  const response = await n1.goto(`${BASE}/t/connextoo/c/catalogue_item`);
  assert.equal(response.status(), 200);
  await n1.click("text=Forfait Fibre Pro 1 Gb");
  await n1.waitForSelector("#panel #panel-fields");
  const html = await n1.content();
  assert.match(html, /Forfait Fibre Pro 1 Gb/);
  assert.doesNotMatch(html, /Prix d'achat|purchase_price|31[,.]17/, "the margin is absent from the HTML, not hidden");
  await n1.screenshot({ path: `${SHOTS}support-n1-catalogue.png`, fullPage: true });
  await direction.context().close();
  await n1.context().close();
});

test("on a phone, the detail covers the list and the page stays usable by keyboard", async () => {
  const page = await loggedIn("atelier-pixel", "julie.moreau@atelier-pixel.demo", { width: 390, height: 844 });
  await page.goto(`${BASE}/t/atelier-pixel/c/customer_account`);
  await page.click("text=Nouveau");
  await page.waitForSelector("#panel form.record-form");
  const box = await page.locator("#panel").boundingBox();
  assert.ok(box.width >= 380, `the panel takes the whole width on a phone (${box.width})`);
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => document.getElementById("panel").children.length === 0);
  await page.screenshot({ path: `${SHOTS}phone-list.png`, fullPage: true });
  // The skip link is the first stop of the keyboard.
  await page.reload();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip-link");
  await page.context().close();
});

test("every page fits a 360 px phone without sideways scrolling, for each role", async () => {
  const phone = { width: 360, height: 780 };
  const pages = {
    "connextoo/claire.martin@connextoo.demo": ["/", "/c/telecom.line", "/c/customer_account", "/c/catalogue_item", "/search?q=fibre", "/admin/marketplace", "/admin/users", "/admin/roles", "/admin/plugins", "/admin/branding", "/admin/audit"],
    "connextoo/lucas.bernard@connextoo.demo": ["/", "/c/telecom.line", "/c/customer_account"],
    "atelier-pixel/marc.durand@client-exemple.demo": ["/", "/c/helpdesk.ticket", "/c/helpdesk.project", "/c/helpdesk.ticket/new"],
    "atelier-pixel/thomas.petit@atelier-pixel.demo": ["/", "/c/helpdesk.ticket", "/c/helpdesk.article"],
  };
  const wide = [];
  for (const [who, paths] of Object.entries(pages)) {
    const [slug, email] = who.split("/");
    const page = await loggedIn(slug, email, phone);
    for (const path of paths) {
      const response = await page.goto(`${BASE}/t/${slug}${path}`);
      assert.ok(response.status() < 400, `${email} ${path}: ${response.status()}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > phone.width) {
        const culprit = await page.evaluate((max) => {
          // The widest boxes, outermost first: what pushes the page out.
          const over = [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().width > max + 1);
          return over.slice(0, 4).map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + String(el.className).split(" ").join(".") : ""}`).join(", ");
        }, phone.width);
        wide.push(`${email} ${path}: ${width} px (${culprit})`);
      }
    }
    await page.screenshot({ path: `${SHOTS}phone-360-${slug}-${email.split("@")[0]}.png`, fullPage: true });
    await page.context().close();
  }
  assert.deepEqual(wide, [], "pages wider than the phone");
});
