import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from './datasets';
import { labelFolderName, listForText, matchImageFolder } from './image-folder';

const id2label = Object.fromEntries(FASHION_MNIST_CLASSES.map((c, i) => [String(i), c]));

describe('matchImageFolder', () => {
  it('matchImageFolder labels root/<class>/<image> by the model label, ignoring case and spaces', () => {
    const r = matchImageFolder(['pick/Coat/a.png', 'pick/coat/b.jpg', 'pick/ ANKLE BOOT /c.jpeg', 'pick/Bag/deeper/d.webp'], id2label);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.labelled).toBe(true);
    expect(r.value.images.map((i) => i.label)).toEqual([4, 4, 9, 8]);
    expect(r.value.images.map((i) => i.index)).toEqual([0, 1, 2, 3]);
  });

  it("matchImageFolder reads a '/' in a label as '_' in the folder name (T-shirt/top → T-shirt_top)", () => {
    expect(labelFolderName('T-shirt/top')).toBe('T-shirt_top');
    const r = matchImageFolder(['pick/T-shirt_top/1.png', 'pick/t-shirt_TOP/2.png'], id2label);
    expect(r.ok && r.value.images.map((i) => i.label)).toEqual([0, 0]);
  });

  it('matchImageFolder refuses unknown class folders, listing them and every label with its folder spelling', () => {
    const r = matchImageFolder(['pick/Hat/1.png', 'pick/Coat/2.png', 'pick/Scarf/3.png', 'pick/T-shirt/4.png'], id2label);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('data-malformed');
    expect(r.error.message).toMatch(/"Hat", "Scarf", "T-shirt"/);
    expect(r.error.message).toMatch(/T-shirt\/top \(folder "T-shirt_top"\)/);
    expect(r.error.message).toMatch(/Ankle boot/);
    expect(r.error.details).toMatchObject({ unknown: ['Hat', 'Scarf', 'T-shirt'] });
  });

  it('matchImageFolder makes an unlabelled set from images directly in the folder, or from plain file names', () => {
    const r = matchImageFolder(['pick/a.png', 'pick/b.jpg'], id2label);
    expect(r.ok && r.value).toMatchObject({ labelled: false, images: [{ label: null }, { label: null }] });
    const plain = matchImageFolder(['a.png', 'b.gif'], id2label);
    expect(plain.ok && plain.value.labelled).toBe(false);
  });

  it('matchImageFolder skips hidden and non-image files, and loose images beside class folders, saying why', () => {
    const r = matchImageFolder(['pick/.DS_Store', 'pick/Coat/readme.txt', 'pick/Coat/a.png', 'pick/loose.png', 'pick/Coat/.hidden.png'], id2label);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.images.map((i) => i.path)).toEqual(['pick/Coat/a.png']);
    expect(r.value.skipped).toEqual([
      { path: 'pick/.DS_Store', reason: 'hidden file' },
      { path: 'pick/Coat/readme.txt', reason: expect.stringMatching(/^not an image/) },
      { path: 'pick/Coat/.hidden.png', reason: 'hidden file' },
      { path: 'pick/loose.png', reason: 'not inside a class folder' },
    ]);
  });

  it('matchImageFolder fails with data-missing when no image was picked', () => {
    const r = matchImageFolder(['pick/notes.txt'], id2label);
    expect(!r.ok && r.error.code).toBe('data-missing');
  });

  it("matchImageFolder with the 'sorted' rule numbers class folders in code-point order, as torchvision does", () => {
    const labels = Object.fromEntries(['a', 'b', 'c'].map((l, i) => [String(i), l]));
    const r = matchImageFolder(['r/n02/x.jpg', 'r/N01/y.png', 'r/n01/z.webp'], labels, 'sorted');
    expect(r.ok && r.value.images.map((im) => [im.path, im.label])).toEqual([
      ['r/n02/x.jpg', 2],
      ['r/N01/y.png', 0],
      ['r/n01/z.webp', 1],
    ]);
    const wrong = matchImageFolder(['r/n01/y.png'], labels, 'sorted');
    expect(!wrong.ok && wrong.error.code).toBe('shape-mismatch');
  });
});

describe('listForText', () => {
  it('keeps a short list and cuts a 1,000-label one after 30, saying how many more', () => {
    expect(listForText(['a', 'b'])).toEqual(['a', 'b']);
    const names = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
    const listed = listForText(names);
    expect(listed).toHaveLength(31);
    expect(listed[29]).toBe('class 29');
    expect(listed[30]).toBe("… and 970 more (the model's config.json id2label lists them all)");
  });
});
