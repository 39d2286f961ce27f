/**
 * The before/after comparison: both images stacked at the output's size, one image pixel to
 * one screen pixel, the after image clipped to the right of a divider that a slider, a mouse
 * drag or the arrow keys move. The view scrolls when the image is larger than the window.
 */

const $ = (id) => document.getElementById(id);
const dialog = $('compare');
const view = $('compare-view');
const stage = $('compare-stage');
const before = $('compare-before');
const after = $('compare-after');
const divider = $('compare-divider');
const position = $('compare-position');

position.addEventListener('input', () => place(Number(position.value)));
$('compare-close').addEventListener('click', () => dialog.close());
// A click on the backdrop (outside the dialog's box) closes it, as Escape does.
dialog.addEventListener('click', (event) => {
  if (event.target === dialog) dialog.close();
});

let dragging = false;
stage.addEventListener('pointerdown', (event) => {
  // A finger pans the view (the image may be wider than a phone); the slider moves the divider.
  if (event.pointerType === 'touch') return;
  dragging = true;
  stage.setPointerCapture(event.pointerId);
  follow(event);
});
stage.addEventListener('pointermove', (event) => dragging && follow(event));
stage.addEventListener('pointerup', () => (dragging = false));
stage.addEventListener('pointercancel', () => (dragging = false));

function follow(event) {
  const box = stage.getBoundingClientRect();
  const percent = Math.round(((event.clientX - box.left) / box.width) * 100);
  position.value = String(Math.min(100, Math.max(0, percent)));
  place(Number(position.value));
}

function place(percent) {
  after.style.clipPath = `inset(0 0 0 ${percent}%)`;
  divider.style.left = `${percent}%`;
}

export function openComparison(entry) {
  const { result, file } = entry;
  // CSS pixels per image pixel, so that on a 2x screen the image is not magnified.
  const scale = 1 / (window.devicePixelRatio || 1);
  stage.style.width = `${result.width * scale}px`;
  stage.style.height = `${result.height * scale}px`;
  before.src = entry.originalUrl;
  after.src = entry.outputUrl;
  before.alt = `Before: ${file.name}`;
  after.alt = `After: ${result.name}`;
  $('compare-title').textContent = `${file.name}: before and after`;
  $('compare-caption').textContent =
    `Left of the divider: the original; right: the ${result.format.toUpperCase()} result, ${result.width}×${result.height} at 1:1.` +
    ' Move the divider with the slider, by dragging, or with the arrow keys.';
  before.decode().then(
    () => {
      if (before.naturalWidth !== result.width || before.naturalHeight !== result.height) {
        $('compare-caption').textContent +=
          ` The original, ${before.naturalWidth}×${before.naturalHeight}, is scaled to the result's size.`;
      }
    },
    () => {},
  );
  position.value = '50';
  place(50);
  dialog.showModal();
  view.scrollTo(0, 0);
  position.focus();
}
