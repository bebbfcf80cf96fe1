// Seed 003 in a real Chromium, on the demo agency (Atelier Pixel, helpdesk installed from the
// marketplace by `socle demo`): a client opens a ticket on one of their own projects and never sees
// another client's projects nor the internal comments; the support team finds the ticket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, SHOTS, launch, loggedIn as logIn } from "./support.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const loggedIn = (email) => logIn(browser, "atelier-pixel", email);

test("the agency's client opens a ticket on their own project; the support team finds it", async () => {
  const client = await loggedIn("marc.durand@client-exemple.demo");
  const nav = await client.textContent(".side-nav");
  assert.match(nav, /Mes tickets/);
  assert.doesNotMatch(nav, /Commentaires internes/, "internal comments are not even in a client's menu");
  await client.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket`);
  await client.click("text=Nouveau");
  await client.waitForSelector("#panel form.record-form");
  const projects = await client.$$eval("#panel #in-project option", (options) => options.map((o) => o.textContent));
  assert.ok(projects.includes("Site vitrine Durand Immobilier"), projects.join(", "));
  assert.ok(!projects.includes("Boutique en ligne") && !projects.includes("Portail citoyen"), `another client's projects: ${projects.join(", ")}`);
  await client.fill("#panel #in-subject", "Le formulaire de contact n'envoie plus rien");
  await client.selectOption("#panel #in-project", { label: "Site vitrine Durand Immobilier" });
  await client.selectOption("#panel #in-ticket_type", "urgence");
  await client.click("#panel button[type=submit]");
  await client.waitForSelector("#panel #panel-fields");
  assert.equal(await client.textContent("#panel-title"), "Le formulaire de contact n'envoie plus rien");
  await client.screenshot({ path: `${SHOTS}helpdesk-client-ticket.png`, fullPage: true });
  // The list holds the client's own tickets — the one just opened and the demo's two — and none
  // of the other clients' (their subjects, which the list would show if they leaked).
  const listed = await client.textContent("#list");
  for (const own of ["Le formulaire de contact n'envoie plus rien", "Les nouvelles annonces n'apparaissent pas sur le site", "Les relances de J+15 ne sont pas parties ce mois-ci"]) {
    assert.ok(listed.includes(own), `the client's own ticket « ${own} » is listed: ${listed}`);
  }
  for (const other of ["Ajouter la livraison réfrigérée le samedi", "Erreur 500 sur le formulaire de réservation de salle", "Modifier le texte de la page d'accueil"]) {
    assert.ok(!listed.includes(other), `another client's ticket « ${other} » must not be listed`);
  }

  const support = await loggedIn("thomas.petit@atelier-pixel.demo");
  await support.goto(`${BASE}/t/atelier-pixel/c/helpdesk.ticket`);
  await support.fill("#list-q", "formulaire de contact");
  await support.waitForSelector("#list >> text=Le formulaire de contact n'envoie plus rien");
  await support.click("#list >> text=Le formulaire de contact n'envoie plus rien");
  await support.waitForSelector("#panel #panel-fields");
  assert.match(await support.textContent("#panel"), /Urgence/);
  await support.screenshot({ path: `${SHOTS}helpdesk-support-ticket.png`, fullPage: true });
  await client.context().close();
  await support.context().close();
});
