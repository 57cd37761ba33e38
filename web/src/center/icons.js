// Case symbols drawn in the page (no sprite server on a closed network): one image per
// category domain, state and overdue mark, made when the map first asks for it: a white shape
// of the domain on a dot of the state's colour, ringed red when overdue. One image per case
// rather than a dot layer under a symbol layer: each frame draws half the pixels, which counts
// in a browser drawing in software.
export const STATE_COLORS = {
  new: '#ffb300', dispatched: '#29b6f6', accepted: '#5c6bc0', in_progress: '#ab47bc',
  resolved: '#66bb6a', closed: '#78909c', rejected: '#ef6c00', reopened: '#ff7043',
  cancelled: '#78909c', duplicate: '#78909c', verifying: '#26a69a',
};

const OTHER_STATE = '#90a4ae';
const OVERDUE_RING = '#ef5350';
const RING = '#0d1b2a';

// Designed in a 64-unit box: a dot of radius 24 units (and its ring) with the domain's shape in
// the middle (drawn in a 40-unit box, scaled to 36 units). Each image is made at the size the map
// draws it, for the display's pixel ratio, so the map copies its pixels unscaled (nearest)
// rather than filtering them (linear) in every frame.
const SIZE = 64;
const RADIUS = 24;
const SHAPE_BOX = 40;
const SHAPE_SCALE = 0.9;

// The dot's radius in CSS pixels by zoom: 7 px to zoom 10, one pixel more per zoom step or so,
// 12 px from zoom 16. A step of the tiles' zoom, not a smooth scale: a scaled image is filtered.
export const RADII = [[0, 7], [11, 8], [12, 9], [13, 10], [15, 11], [16, 12]];

const shapes = {
  // bin: a trash can
  sanitation(c) { c.fillRect(12, 14, 16, 18); c.fillRect(9, 10, 22, 3); c.fillRect(16, 6, 8, 3); },
  // car: a body and wheels
  traffic(c) { c.fillRect(7, 16, 26, 10); c.fillRect(12, 10, 16, 7); c.beginPath(); c.arc(13, 28, 3.5, 0, 7); c.arc(27, 28, 3.5, 0, 7); c.fill(); },
  // flame
  fire(c) { c.beginPath(); c.moveTo(20, 5); c.bezierCurveTo(32, 16, 30, 34, 20, 34); c.bezierCurveTo(10, 34, 8, 20, 16, 14); c.bezierCurveTo(16, 20, 19, 22, 20, 22); c.bezierCurveTo(22, 16, 20, 10, 20, 5); c.fill(); },
  // water drop
  water(c) { c.beginPath(); c.moveTo(20, 5); c.bezierCurveTo(29, 17, 31, 22, 31, 25); c.arc(20, 25, 11, 0, Math.PI); c.bezierCurveTo(9, 22, 11, 17, 20, 5); c.fill(); },
  // manhole: a ring with bars
  utilities(c) { c.lineWidth = 4; c.beginPath(); c.arc(20, 20, 11, 0, 7); c.stroke(); c.fillRect(12, 18, 16, 4); },
  // leaf / wave for the environment
  environment(c) { c.beginPath(); c.moveTo(8, 30); c.quadraticCurveTo(8, 8, 32, 8); c.quadraticCurveTo(32, 32, 8, 30); c.fill(); },
  // anything else: a dot with a question mark shape
  general(c) { c.beginPath(); c.arc(20, 20, 8, 0, 7); c.fill(); },
};

// The name of a case's image, as a map expression over the case's properties and the zoom.
const nameAt = (radius) => ['concat', 'case-', ['get', 'group'], '-', ['get', 'state'], '-',
  ['case', ['get', 'overdue'], 'overdue', 'due'], `-${radius}`];
export const CASE_IMAGE = ['step', ['zoom'], nameAt(RADII[0][1]), ...RADII.slice(1).flatMap(([z, r]) => [z, nameAt(r)])];

// The ImageData of image `name` (case-<domain>-<state>-<overdue|due>-<radius>) for map.addImage
// at pixel ratio `ratio`, or null when the name is not a case's. An unknown domain gets the
// general shape, an unknown state grey.
export function caseImage(name, ratio) {
  const m = /^case-(.*)-([a-z_]*)-(overdue|due)-([0-9]+)$/.exec(name);
  if (!m) return null;
  const [, domain, state, due, radius] = m;
  // Scaled from the 64-unit design; an even size keeps the dot's centre on a pixel corner.
  const k = (Number(radius) * ratio) / RADIUS;
  const size = 2 * Math.ceil((SIZE / 2) * k);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const c = canvas.getContext('2d');
  const shift = size / 2 - (SIZE / 2) * k;
  c.setTransform(k, 0, 0, k, shift, shift);
  const ring = due === 'overdue' ? 6 : 2;
  c.beginPath();
  c.arc(SIZE / 2, SIZE / 2, RADIUS + ring / 2, 0, 2 * Math.PI);
  c.lineWidth = ring;
  c.strokeStyle = due === 'overdue' ? OVERDUE_RING : RING;
  c.stroke();
  c.beginPath();
  c.arc(SIZE / 2, SIZE / 2, RADIUS, 0, 2 * Math.PI);
  c.fillStyle = STATE_COLORS[state] || OTHER_STATE;
  c.fill();
  const offset = (SIZE - SHAPE_BOX * SHAPE_SCALE) / 2;
  c.transform(SHAPE_SCALE, 0, 0, SHAPE_SCALE, offset, offset);
  c.fillStyle = '#fff';
  c.strokeStyle = '#fff';
  (shapes[domain] || shapes.general)(c);
  return c.getImageData(0, 0, size, size);
}
