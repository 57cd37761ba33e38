// Case symbols drawn at start (no sprite server on a closed network): a white shape per
// category domain on the state's colour; overdue cases get a red ring (the layer's stroke).
export const STATE_COLORS = {
  new: '#ffb300', dispatched: '#29b6f6', accepted: '#5c6bc0', in_progress: '#ab47bc',
  resolved: '#66bb6a', closed: '#78909c', rejected: '#ef6c00', reopened: '#ff7043',
  cancelled: '#78909c', duplicate: '#78909c', verifying: '#26a69a',
};

const SIZE = 40; // drawn at pixelRatio 2: 20 px on the map at icon-size 1

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

// [name, ImageData] for map.addImage: cat-<domain>.
export function caseIcons() {
  const out = [];
  for (const [name, draw] of Object.entries(shapes)) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = SIZE;
    const c = canvas.getContext('2d');
    c.fillStyle = '#fff';
    c.strokeStyle = '#fff';
    draw(c);
    out.push([`cat-${name}`, c.getImageData(0, 0, SIZE, SIZE)]);
  }
  return out;
}
