import { ApiFailure, DEFAULT_JOB_THRESHOLD_BYTES, compressFile } from './compress-client.js';
import { openComparison } from './compare.js';
import { downloadZip } from './vendor/client-zip/index.js';

const KEY_STORAGE = 'compress-worker.api-key';
const DEV_KEY = 'ck_dev_local';
/** Files compressed at the same time: enough to keep the server busy, few enough not to hit rate limits. */
const PARALLEL_FILES = 3;
/** A rate limit that lifts within this is waited out; a longer one (the monthly quota) is shown as an error. */
const LONGEST_AUTOMATIC_WAIT_SECONDS = 60;

const $ = (selector, root = document) => root.querySelector(selector);
const keyInput = $('#api-key');
const fileInput = $('#file-input');
const dropZone = $('#drop-zone');
const resultList = $('#results');
const summary = $('#summary');
const downloadAllButton = $('#download-all');
const clearAllButton = $('#clear-all');
const template = $('#result-template');

/**
 * Every file added, in order: { file, settings, jobThresholdBytes, row, state, result,
 * controller, jobId, originalUrl, outputUrl }. A file keeps the options set when it was added.
 */
const entries = [];

setUpKey();
setUpSettings();
setUpIntake();
downloadAllButton.addEventListener('click', downloadAll);
// Last first, so that removing a running file never starts a waiting one about to be removed too.
clearAllButton.addEventListener('click', () => [...entries].reverse().forEach(removeEntry));

function setUpKey() {
  // The development key answers only on loopback hosts, so only there is it a sensible default.
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  keyInput.value = storedKey() ?? (loopback ? DEV_KEY : '');
  keyInput.addEventListener('input', () => {
    const key = keyInput.value.trim();
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch {
      // Storage can be off (private browsing, site settings): the key then lasts as long as the tab.
    }
  });
  const showKey = $('#show-key');
  showKey.addEventListener('click', () => {
    const shown = keyInput.type === 'text';
    keyInput.type = shown ? 'password' : 'text';
    showKey.setAttribute('aria-pressed', String(!shown));
    showKey.textContent = shown ? 'Show' : 'Hide';
  });
}

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

function setUpSettings() {
  const mode = $('#mode');
  const qualityField = $('#quality-field');
  const sync = () => (qualityField.hidden = mode.value !== 'fixed');
  mode.addEventListener('change', sync);
  sync();
  $('#settings').addEventListener('submit', (event) => event.preventDefault());
}

function currentSettings() {
  const maxWidth = Number($('#max-width').value);
  const quality = Math.min(100, Math.max(1, Math.round(Number($('#quality').value) || 75)));
  return {
    format: $('#format').value,
    mode: $('#mode').value,
    quality,
    maxWidth: Number.isInteger(maxWidth) && maxWidth > 0 ? maxWidth : undefined,
  };
}

function jobThresholdBytes() {
  const mib = Number($('#job-threshold').value);
  return Number.isFinite(mib) && mib >= 0 && $('#job-threshold').value !== '' ? mib * 1024 * 1024 : DEFAULT_JOB_THRESHOLD_BYTES;
}

function setUpIntake() {
  dropZone.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files]);
    fileInput.value = '';
  });
  // The whole page takes drops, so a near miss does not navigate away to the image.
  let depth = 0;
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    depth++;
    dropZone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    if (--depth <= 0) {
      depth = 0;
      dropZone.classList.remove('dragging');
    }
  });
  document.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropZone.classList.remove('dragging');
    addFiles([...event.dataTransfer.files]);
  });
  document.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    addFiles(files);
  });
}

const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');

function addFiles(files) {
  for (const file of files) {
    const row = template.content.firstElementChild.cloneNode(true);
    const entry = {
      file,
      settings: currentSettings(),
      jobThresholdBytes: jobThresholdBytes(),
      row,
      state: 'waiting',
      result: undefined,
      controller: undefined,
      jobId: undefined,
      originalUrl: URL.createObjectURL(file),
      outputUrl: undefined,
    };
    $('.result-name', row).textContent = file.name || 'pasted image';
    const thumb = $('.thumb', row);
    // Not every file is an image the browser can show; the row still says what happened to it.
    thumb.addEventListener('error', () => thumb.classList.add('thumb-empty'));
    thumb.addEventListener('load', () => thumb.classList.remove('thumb-empty'));
    thumb.src = entry.originalUrl;
    setSize($('.size-before', row), file.size);
    for (const hidden of row.querySelectorAll('.result-actions .visually-hidden')) hidden.textContent = ` ${file.name}`;
    $('.remove', row).addEventListener('click', () => removeEntry(entry));
    $('.retry', row).addEventListener('click', () => {
      resetEntry(entry);
      pump();
    });
    $('.compare', row).addEventListener('click', () => openComparison(entry));
    entries.push(entry);
    resultList.append(row);
    showState(entry, 'Waiting');
  }
  updateSummary();
  pump();
}

/** Starts waiting files while fewer than PARALLEL_FILES are in flight. */
function pump() {
  let active = entries.filter((e) => e.state === 'working').length;
  for (const entry of entries) {
    if (active >= PARALLEL_FILES) break;
    if (entry.state !== 'waiting') continue;
    active++;
    run(entry);
  }
}

async function run(entry) {
  entry.state = 'working';
  entry.controller = new AbortController();
  const { row } = entry;
  try {
    const result = await compressWaitingOutRateLimits(entry);
    entry.result = result;
    entry.outputUrl = URL.createObjectURL(result.blob);
    entry.state = 'done';
    setSize($('.size-before', row), result.inputSize);
    setSize($('.size-after', row), result.outputSize);
    $('.size-saving', row).textContent = savingText(result);
    $('.thumb', row).src = entry.outputUrl;
    const download = $('.download', row);
    download.href = entry.outputUrl;
    download.download = result.name;
    download.hidden = false;
    $('.compare', row).hidden = false;
    row.dataset.state = 'done';
    showState(entry, `Done: ${result.format.toUpperCase()}, ${result.width}×${result.height}${result.jobId ? ', by a job' : ''}`, 100);
  } catch (error) {
    if (error?.name === 'AbortError') return;
    entry.state = 'failed';
    const failure = error instanceof ApiFailure ? error : new ApiFailure(`Unexpected error in the page: ${error?.message ?? error}`);
    row.dataset.state = 'failed';
    showState(entry, 'Failed');
    const message = $('.result-error', row);
    const retryAt = failure.retryAfterSeconds ? new Date(Date.now() + failure.retryAfterSeconds * 1000) : undefined;
    message.textContent = failure.describe() + (retryAt ? ` Try again after ${retryAt.toLocaleString()}.` : '');
    message.hidden = false;
    $('.retry', row).hidden = false;
  } finally {
    updateSummary();
    pump();
  }
}

async function compressWaitingOutRateLimits(entry) {
  if (!keyInput.value.trim()) throw new ApiFailure('No API key: enter yours in the "API key" field above, then retry.');
  for (;;) {
    try {
      return await compressFile(entry.file, entry.settings, {
        key: keyInput.value.trim(),
        jobThresholdBytes: entry.jobThresholdBytes,
        signal: entry.controller.signal,
        onStage: (stage) => {
          if (stage.jobId) entry.jobId = stage.jobId;
          showStage(entry, stage);
        },
      });
    } catch (error) {
      const waitSeconds = error instanceof ApiFailure && error.status === 429 ? error.retryAfterSeconds : undefined;
      if (!(waitSeconds <= LONGEST_AUTOMATIC_WAIT_SECONDS)) throw error;
      showState(entry, `Over the rate limit; trying again in ${waitSeconds} s`);
      await sleep(waitSeconds * 1000, entry.controller.signal);
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new DOMException('Canceled', 'AbortError'));
      },
      { once: true },
    );
  });
}

function showStage(entry, { stage, percent }) {
  const jobPercent = percent === undefined ? undefined : Math.round(percent);
  switch (stage) {
    case 'uploading':
      return showState(entry, `Uploading ${percent} %`, percent);
    case 'compressing':
      return showState(entry, 'Compressing…');
    case 'submitting':
      return showState(entry, 'Uploaded; creating a job…');
    case 'queued':
      return showState(entry, 'Queued on the server');
    case 'processing':
      return showState(entry, `Compressing ${jobPercent} %`, jobPercent);
    case 'downloading':
      return showState(entry, 'Downloading the result…');
  }
}

/** The state line and its progress bar; no value makes the bar indeterminate. */
function showState(entry, text, percent) {
  const { row } = entry;
  $('.result-state', row).textContent = text;
  const bar = $('.result-progress', row);
  bar.setAttribute('aria-label', `${entry.file.name}: ${text}`);
  if (percent === undefined) bar.removeAttribute('value');
  else bar.value = percent;
  bar.hidden = entry.state === 'done' || entry.state === 'failed';
  row.dataset.state = entry.state;
}

function resetEntry(entry) {
  const { row } = entry;
  entry.state = 'waiting';
  // A retry takes the options as they are now: changing them is often how a failure is fixed.
  entry.settings = currentSettings();
  entry.jobThresholdBytes = jobThresholdBytes();
  entry.jobId = undefined;
  if (entry.outputUrl) URL.revokeObjectURL(entry.outputUrl);
  entry.result = entry.outputUrl = undefined;
  $('.result-error', row).hidden = true;
  $('.result-error', row).textContent = '';
  for (const button of row.querySelectorAll('.retry, .compare, .download')) button.hidden = true;
  $('.size-after', row).textContent = '–';
  $('.size-saving', row).textContent = '–';
  showState(entry, 'Waiting');
}

function removeEntry(entry) {
  entry.controller?.abort();
  // A job still running on the server is canceled there too, so it stops using the plan's job slots.
  if (entry.state === 'working' && entry.jobId) {
    fetch(`/v1/jobs/${encodeURIComponent(entry.jobId)}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${keyInput.value.trim()}` },
    }).catch(() => {});
  }
  URL.revokeObjectURL(entry.originalUrl);
  if (entry.outputUrl) URL.revokeObjectURL(entry.outputUrl);
  entries.splice(entries.indexOf(entry), 1);
  // Keep keyboard focus in the list rather than losing it to the page's start.
  const next = entry.row.nextElementSibling ?? entry.row.previousElementSibling;
  const hadFocus = entry.row.contains(document.activeElement);
  entry.row.remove();
  if (hadFocus) ($('.remove', next ?? document) ?? dropZone).focus();
  updateSummary();
  pump();
}

function updateSummary() {
  const done = entries.filter((e) => e.state === 'done');
  const failed = entries.filter((e) => e.state === 'failed').length;
  const pending = entries.length - done.length - failed;
  downloadAllButton.disabled = done.length === 0;
  clearAllButton.disabled = entries.length === 0;
  if (entries.length === 0) {
    summary.textContent = 'No images yet.';
    return;
  }
  const before = done.reduce((sum, e) => sum + e.result.inputSize, 0);
  const after = done.reduce((sum, e) => sum + e.result.outputSize, 0);
  const parts = [];
  if (done.length)
    parts.push(
      `${done.length} done: ${formatBytes(before)} → ${formatBytes(after)}, ${percentText(before ? ((before - after) / before) * 100 : 0)} saved`,
    );
  if (pending) parts.push(`${pending} in progress`);
  if (failed) parts.push(`${failed} failed`);
  summary.textContent = `${parts.join('; ')}.`;
}

async function downloadAll() {
  const done = entries.filter((e) => e.state === 'done');
  const used = new Set();
  const files = done.map((entry) => ({ name: uniqueName(entry.result.name, used), input: entry.result.blob }));
  downloadAllButton.disabled = true;
  try {
    const zip = await downloadZip(files).blob();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(zip);
    link.download = 'compressed-images.zip';
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } finally {
    downloadAllButton.disabled = false;
  }
}

/** Two inputs named alike (two pasted "image.png") must not overwrite each other in the zip. */
function uniqueName(name, used) {
  let candidate = name;
  for (let n = 2; used.has(candidate.toLowerCase()); n++) candidate = name.replace(/(\.[^.]*)?$/, (ext) => `-${n}${ext}`);
  used.add(candidate.toLowerCase());
  return candidate;
}

/** A size for people, with the exact count kept in <data value> for tools. */
function setSize(cell, bytes) {
  const data = document.createElement('data');
  data.value = String(bytes);
  data.textContent = formatBytes(bytes);
  cell.replaceChildren(data);
}

function savingText(result) {
  if (!result.compressed) return 'None: already as small as it gets';
  if (result.savingsPercent < 0) return `${percentText(-result.savingsPercent)} larger`;
  return percentText(result.savingsPercent);
}

function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

const percentText = (percent) => `${percent.toFixed(1)} %`;
