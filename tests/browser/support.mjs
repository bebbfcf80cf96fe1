// Shared by the browser tests: Chromium, logging in as a demo user, the mails the SMTP server
// received, and the server's test clock. tests/browser/run sets the environment.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

export const BASE = process.env.SOCLE_URL;
export const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const PASSWORD = "socle-demo-2026";

export async function launch() {
  assert.ok(BASE, "SOCLE_URL is not set: run tests/browser/run");
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

// axe-core checks every page a test loads: each load is audited in the background, and the
// context's close fails the test on any serious or critical violation (the rule, the page and
// the offending elements). A page navigated away from mid-audit is simply skipped.
const AXE = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");

export async function audit(page) {
  const url = page.url();
  try {
    // Evaluated, not added as a script tag: nothing is left in the page the test reads, and the
    // page's content security policy does not apply to the test's own code.
    await page.evaluate(AXE);
    const found = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return result.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
    });
    return found.map((v) => ({ url, ...v }));
  } catch (error) {
    // Navigated away while auditing (the next load is audited); anything else is a failure.
    if (/context was destroyed|navigat|Target (page, context or browser )?(has been )?closed/i.test(String(error))) return [];
    return [{ url, id: "axe-error", impact: "critical", help: String(error), nodes: [] }];
  }
}

export function audited(page) {
  const pending = [];
  // One audit at a time: axe refuses to start while another run is going in the same page.
  let chain = Promise.resolve([]);
  const queue = () => { chain = chain.then(() => audit(page)); return chain; };
  page.on("load", () => pending.push(queue()));
  const context = page.context();
  const close = context.close.bind(context);
  context.close = async () => {
    pending.push(queue());
    const violations = (await Promise.all(pending)).flat();
    await close();
    const seen = new Set();
    const unique = violations.filter((v) => { const key = `${v.id} ${v.url}`; if (seen.has(key)) return false; seen.add(key); return true; });
    assert.deepEqual(unique.map((v) => `${v.impact} ${v.id} (${v.help}) on ${v.url}: ${v.nodes.join(" | ")}`), [], "axe-core: serious or critical violations");
  };
  return page;
}

export async function loggedIn(browser, slug, email, viewport = { width: 1366, height: 900 }) {
  const page = audited(await (await browser.newContext({ viewport, locale: "fr-FR", timezoneId: "Europe/Paris" })).newPage());
  await page.goto(`${BASE}/t/${slug}/login`);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith("/login")), page.click("button[type=submit]")]);
  return page;
}

// RFC 2047 words in headers and quoted-printable bodies, undone enough to search the text.
function decoded(raw) {
  const words = raw.replace(/=\?utf-8\?b\?([^?]*)\?=/gi, (_, b64) => Buffer.from(b64, "base64").toString("utf8"));
  const joined = words.replace(/=\r?\n/g, "");
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/.test(hex)) { bytes.push(parseInt(hex, 16)); i += 2; }
    else bytes.push(...Buffer.from(joined[i], "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

// Every mail the SMTP server received: { to: [...], text }.
export function mails() {
  const dir = process.env.SOCLE_SMTP_DIR;
  assert.ok(dir, "SOCLE_SMTP_DIR is not set: run tests/browser/run");
  return readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => {
    const mail = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"));
    return { to: mail.to, text: decoded(mail.data) };
  });
}

// Waits until a mail to `address` whose text matches `pattern` has arrived.
export async function mailTo(address, pattern, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = mails().find((m) => m.to.includes(address) && pattern.test(m.text));
    if (found) return found;
    if (Date.now() > deadline) {
      const seen = mails().map((m) => `${m.to.join(",")}: ${(m.text.match(/^Subject:.*$/im) || [""])[0]}`);
      assert.fail(`no mail to ${address} matching ${pattern}; received:\n${seen.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Moves the server's clock `seconds` ahead of real time (the server reads the file every 100 ms;
// its worker fires due timers every 500 ms).
export async function setClockAhead(seconds) {
  const file = process.env.SOCLE_TEST_CLOCK_FILE;
  assert.ok(file, "SOCLE_TEST_CLOCK_FILE is not set: run tests/browser/run");
  writeFileSync(file, String(seconds));
  await new Promise((r) => setTimeout(r, 1500));
}

// Every call the fake operator (tests/support/fake_connector.py) received:
// { path: "/snaic/get-status", authorized, body: { tenant, plugin, operation, input } }.
export function operatorCalls() {
  const dir = process.env.SOCLE_OPERATOR_DIR;
  assert.ok(dir, "SOCLE_OPERATOR_DIR is not set: run tests/browser/run");
  let text = "";
  try { text = readFileSync(`${dir}/calls.jsonl`, "utf8"); } catch { return []; }
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}
