// The officer's page: camera -> frames to POST /verify until the carousel is complete ->
// the verdict (colour + icon + words), the signed portrait first, the verified facts, every
// check in the drawer. Messages come from the library's stable codes via static/i18n/*.json.
// Nothing about the holder is kept: a new scan clears the screen.
"use strict";

const LANGS = ["en", "zh", "ja", "de"];
const ICONS = { green: "\u2713", amber: "!", red: "\u2715" };
const FRAME_MS = 200;          // 5 frames a second
const MAX_TEXTS = 48;
const $ = (id) => document.getElementById(id);

let catalogue = {};
let english = {};
let lastResult = null;
let bundleInfo = null;
let challenge = null;
let stream = null;
let timer = null;
let inFlight = false;
let texts = [];

// --- languages -------------------------------------------------------------------------

function pickLanguage() {
  const saved = localStorage.getItem("edl-lang");
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

async function loadCatalogue(lang) {
  const r = await fetch(`/static/i18n/${lang}.json`);
  return r.json();
}

function t(key, vars) {
  const [group, name] = key.split(".");
  let s = (catalogue[group] || {})[name] ?? (english[group] || {})[name] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

async function setLanguage(lang) {
  catalogue = await loadCatalogue(lang);
  document.documentElement.lang = catalogue.meta.bcp47;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.title = t("ui.title");
  showOnline();
  showBundle();
  if (lastResult) showResult(lastResult);
}

// --- badges ----------------------------------------------------------------------------

function showOnline() {
  const off = !navigator.onLine;
  $("offline").dataset.state = off ? "offline" : "online";
  $("offline").textContent = t(off ? "ui.offline" : "ui.online");
}

function age(seconds) {
  if (seconds < 3600) return t("ui.age_minutes", { n: Math.max(0, Math.floor(seconds / 60)) });
  if (seconds < 172800) return t("ui.age_hours", { n: Math.floor(seconds / 3600) });
  return t("ui.age_days", { n: Math.floor(seconds / 86400) });
}

function showBundle() {
  const b = $("bundle-age");
  if (!bundleInfo) { b.textContent = t("ui.bundle_unknown"); b.dataset.state = "unknown"; return; }
  if (!bundleInfo.status_lists) {
    b.textContent = t("ui.bundle_none");
    b.dataset.state = "stale";
    return;
  }
  const stale = bundleInfo.age_seconds > 72 * 3600;
  b.dataset.state = stale ? "stale" : "fresh";
  b.textContent = t("ui.bundle_age", { age: age(bundleInfo.age_seconds) });
  b.title = bundleInfo.note || "";
}

async function refreshBundle() {
  try {
    const r = await fetch("/bundle");
    if (r.ok) bundleInfo = await r.json();
  } catch (e) { /* the page may be reloading offline */ }
  showBundle();
}

// --- the result ------------------------------------------------------------------------

function codeText(check) {
  return t(`codes.${check.code}`);
}

function reasonOf(result) {
  const failed = result.checks.find((c) => c.status === "failed");
  if (failed) return `${t(`checks.${failed.name}`)}: ${codeText(failed)}`;
  const missing = result.checks.find((c) => c.required && c.status === "not_checked");
  if (missing) return `${t(`checks.${missing.name}`)}: ${codeText(missing)}`;
  return t("ui.all_passed");
}

function text(id, value) { $(id).textContent = value ?? "\u2014"; }

function showResult(result) {
  lastResult = result;
  const box = $("result");
  box.hidden = false;
  box.dataset.verdict = result.verdict;
  $("verdict-icon").textContent = ICONS[result.verdict];
  $("verdict-text").textContent = t(`verdict.${result.verdict}`);
  $("verdict-reason").textContent = reasonOf(result);
  $("test-stamp").hidden = !(result.issuer && result.issuer.test);
  const img = $("portrait");
  if (result.portrait) {
    img.src = `data:image/jpeg;base64,${result.portrait}`;
    img.alt = t("field.portrait");
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
  const lic = result.licence || {};
  text("f-name", [lic.family_name, lic.given_name].filter(Boolean).join(" ") || null);
  text("f-name-national", [lic.family_name_national_character, lic.given_name_national_character].filter(Boolean).join("") || null);
  text("f-birth", lic.birth_date);
  text("f-number", lic.document_number);
  text("f-expiry", lic.expiry_date);
  const iss = result.issuer || {};
  text("f-issuer", iss.city_name ? `${iss.city_name} (${iss.country})` : null);
  const body = $("categories").querySelector("tbody");
  body.replaceChildren();
  for (const c of lic.categories || []) {
    const tr = document.createElement("tr");
    for (const v of [c.code, c.expiry_date, (c.restrictions || []).join(", ") || "\u2014"]) {
      const td = document.createElement("td");
      td.textContent = v ?? "\u2014";
      tr.append(td);
    }
    body.append(tr);
  }
  text("d-kid", iss.key_id);
  text("d-validity", iss.signer_not_after ? `${iss.signer_not_before.slice(0, 10)} \u2013 ${iss.signer_not_after.slice(0, 10)}` : null);
  text("d-trust", iss.trust_list);
  const list = $("checks");
  list.replaceChildren();
  for (const c of result.checks) {
    const li = document.createElement("li");
    li.className = `st-${c.status}`;
    li.dataset.code = c.code;
    const code = document.createElement("code");
    code.textContent = ` [${c.name}: ${c.code}]`;
    li.append(`${t(`checks.${c.name}`)} \u2014 ${t(`status.${c.status}`)}: ${codeText(c)}`, code);
    list.append(li);
  }
}

function clearResult() {
  lastResult = null;
  texts = [];
  const box = $("result");
  box.hidden = true;
  box.dataset.verdict = "";
  $("portrait").removeAttribute("src");
  $("checks").replaceChildren();
}

// --- the camera ------------------------------------------------------------------------

async function startScan() {
  clearResult();
  $("camera-error").hidden = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (e) {
    $("camera-error").textContent = t("ui.camera_error");
    $("camera-error").hidden = false;
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  $("start").hidden = true;
  $("stop").hidden = false;
  $("scan-hint").textContent = t("ui.hint_scanning");
  timer = setInterval(sendFrame, FRAME_MS);
  sendFrame();  // the first frame now, not a tick later
}

function stopScan() {
  clearInterval(timer);
  timer = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("video").srcObject = null;
  $("start").hidden = false;
  $("stop").hidden = true;
  $("scan-hint").textContent = t("ui.hint_start");
}

function grab() {
  const video = $("video");
  if (!video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return canvas.toDataURL("image/jpeg", 0.9);
}

async function sendFrame() {
  if (inFlight || !stream) return;
  const frame = grab();
  if (!frame) return;
  inFlight = true;
  try {
    const body = { texts: texts.slice(-MAX_TEXTS), frames: [frame] };
    if (challenge) body.challenge = challenge;
    const r = await fetch("/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const out = await r.json();
    if (!r.ok) {
      $("camera-error").textContent = t(`codes.${out.code}`);
      $("camera-error").hidden = false;
      return;
    }
    texts = out.texts;
    if (out.verdict && out.complete) {
      stopScan();
      showResult(out);
      texts = [];
    } else if (out.verdict) {
      $("scan-hint").textContent = t("ui.hint_more");
    }
  } catch (e) {
    /* a lost frame: the next one follows */
  } finally {
    inFlight = false;
  }
}

async function showChallenge() {
  const r = await fetch("/challenge");
  challenge = (await r.json()).challenge;
  $("challenge-code").textContent = challenge;
  $("challenge").hidden = false;
}

// --- start -----------------------------------------------------------------------------

async function main() {
  english = await loadCatalogue("en");
  await setLanguage(pickLanguage());
  $("lang").addEventListener("change", (e) => {
    localStorage.setItem("edl-lang", e.target.value);
    setLanguage(e.target.value);
  });
  $("start").addEventListener("click", startScan);
  $("stop").addEventListener("click", stopScan);
  $("again").addEventListener("click", () => { clearResult(); challenge = null; $("challenge").hidden = true; startScan(); });
  $("challenge-btn").addEventListener("click", showChallenge);
  window.addEventListener("online", showOnline);
  window.addEventListener("offline", showOnline);
  refreshBundle();
  setInterval(refreshBundle, 60000);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
}

main();
