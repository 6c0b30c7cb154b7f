// Small progressive enhancements; every page works without this file.

// Video boxes: the red bar runs along the thumbnail while the pointer rests on it (CSS animates it);
// keyboard users get the same when the thumbnail link has focus.
for (const box of document.querySelectorAll('.videobox')) {
  const thumb = box.querySelector('.thumb');
  if (!thumb) continue;
  thumb.addEventListener('focus', () => box.classList.add('hover'));
  thumb.addEventListener('blur', () => box.classList.remove('hover'));
}
