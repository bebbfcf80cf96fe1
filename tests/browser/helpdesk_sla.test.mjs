// Seed 003's whole loop in a real Chromium on the demo agency (Atelier Pixel), with a real SMTP
// server and the server's clock moved by the test: the admin sets the SLA and the alert address;
// a client opens an urgent ticket (the team is alerted, the client acknowledged); support answers
// from the ticket, leaves an internal comment the client never sees, and waits for the client —
// the SLA pauses; the client answers (the team is alerted, the ticket is unread); the SLA runs
// out: the ticket is late, escalated to N2, in the overdue view, and the team is mailed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, launch, loggedIn, mailTo, setClockAhead } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await setClockAhead(0).catch(() => {}); });

const TEAM = "support@atelier-pixel.demo";
const CLIENT = "marc.durand@client-exemple.demo";
const SUBJECT = "Les annonces ne se mettent plus à jour";

async function openTicket(page) {
  await page.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket?q=${encodeURIComponent("annonces ne se mettent")}`);
  await page.click(`#list >> text=${SUBJECT}`);
  await page.waitForSelector("#panel #panel-fields");
}

async function addRelated(page, section, body) {
  await page.click(`#panel section.related:has(h3:has-text('${section}')) >> text=Ajouter`);
  await page.waitForSelector("#panel form.record-form");
  await page.fill("#panel form.record-form textarea[name=body]", body);
  await page.click("#panel form.record-form button[type=submit]");
  await page.waitForSelector("#panel #panel-fields");
  // Back on the ticket, which now lists what was added.
  assert.equal(await page.textContent("#panel-title"), SUBJECT);
  assert.match(await page.textContent(`#panel section.related:has(h3:has-text('${section}'))`), new RegExp(body.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
}

test("an urgent ticket's SLA pauses while waiting for the client, then runs out and escalates, with every mail sent", async () => {
  const admin = await loggedIn(browser, "atelier-pixel", "julie.moreau@atelier-pixel.demo");
  await admin.goto(`${BASE}/t/atelier-pixel/admin/plugins/helpdesk`);
  await admin.fill("#s-alert_email", TEAM);
  await admin.fill("#s-sla_urgence_minutes", "60");
  await Promise.all([admin.waitForEvent("load"), admin.click("form[data-api$='/settings'] button[type=submit]")]);
  assert.equal(await admin.inputValue("#s-alert_email"), TEAM);

  // The client opens an urgent ticket on his project.
  const client = await loggedIn(browser, "atelier-pixel", CLIENT);
  await client.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket`);
  await client.click("text=Nouveau");
  await client.waitForSelector("#panel form.record-form");
  await client.fill("#panel #in-subject", SUBJECT);
  await client.selectOption("#panel #in-project", { label: "Site vitrine Durand Immobilier" });
  await client.selectOption("#panel #in-ticket_type", "urgence");
  // Two attachments chosen in the creation form (one file input, several files).
  const png = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");
  await client.setInputFiles("#panel #in-attachments", [
    { name: "capture-export.png", mimeType: "image/png", buffer: png },
    { name: "export-transactions.csv", mimeType: "text/csv", buffer: Buffer.from("date;montant\n2026-11-20;120,00\n") },
  ]);
  await client.click("#panel button[type=submit]");
  await client.waitForSelector("#panel #panel-fields");
  const attached = client.locator("#panel #field-attachments a");
  assert.deepEqual(await attached.allTextContents(), ["capture-export.png", "export-transactions.csv"]);
  const download = await client.request.get(new URL(await attached.nth(1).getAttribute("href"), BASE).href);
  assert.equal(download.status(), 200);
  assert.match(await download.text(), /2026-11-20;120,00/);
  await mailTo(TEAM, /Nouveau ticket client/);
  await mailTo(CLIENT, /Demande enregistr/);

  // Support answers from the ticket, comments internally, and waits for the client.
  const support = await loggedIn(browser, "atelier-pixel", "thomas.petit@atelier-pixel.demo");
  await openTicket(support);
  assert.match(await support.textContent("#panel .timer"), /échéance/);
  // Support adds a file to the ticket from its panel: it joins the client's two.
  await support.setInputFiles("#panel #in-attachments", { name: "procedure-export.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 procédure") });
  await support.locator("#panel #field-attachments a", { hasText: "procedure-export.pdf" }).waitFor();
  assert.equal(await support.locator("#panel #field-attachments a").count(), 3);
  await addRelated(support, "Réponses", "Pouvez-vous nous envoyer une capture de l'écran d'export ?");
  await openTicket(support);
  await addRelated(support, "Commentaires internes", "Probablement le filtre de statut côté logiciel de transaction.");
  await openTicket(support);
  await support.click("#panel [data-transition=wait_client]");
  await support.waitForSelector("#panel .timer:has-text('en pause')");
  await mailTo(CLIENT, /Nouvelle r/);

  // Five hours later the paused SLA is intact.
  await setClockAhead(5 * 3600);
  await openTicket(support);
  assert.match(await support.textContent("#panel .timer"), /en pause/);
  await support.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket?view=helpdesk/en_retard`);
  assert.doesNotMatch(await support.textContent("#list"), new RegExp(SUBJECT));

  // The client sees the answer, never the internal comment, and answers.
  await openTicket(client);
  const seenByClient = await client.textContent("#panel");
  assert.match(seenByClient, /capture de l'écran d'export/);
  assert.doesNotMatch(await client.content(), /filtre de statut/, "the internal comment never reaches the client");
  await addRelated(client, "Réponses", "Voici la capture : l'export s'arrête à 41 annonces.");
  await mailTo(TEAM, /Nouveau message client/);
  await support.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket?view=helpdesk/non_lus`);
  assert.match(await support.textContent("#list"), new RegExp(SUBJECT), "unread at a glance");

  // The hour of SLA left runs out: late, escalated, in the overdue view, and the team is mailed.
  await setClockAhead(5 * 3600 + 62 * 60);
  await mailTo(TEAM, /SLA d/);
  await openTicket(support);
  assert.match(await support.textContent("#panel .timer"), /échu le .* \(dépassé de 0 h 0\d min\)/);
  assert.match(await support.textContent("#panel"), /N2/);
  await support.screenshot({ path: `${SHOTS}helpdesk-sla-overdue.png`, fullPage: true });
  await support.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket?view=helpdesk/en_retard`);
  assert.match(await support.textContent("#list"), new RegExp(SUBJECT));
  for (const page of [admin, client, support]) await page.context().close();
});
