/** A real browser for what a person looks at: Debian's chromium, driven by playwright-core. */
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Headless, and nothing of its own on the network: no updates, sync or background fetches. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

// Runs in the page (browser types, not Deno's): decodes the PNG on a canvas and counts matching pixels.
const COUNT_IN_PAGE = `async ({ base64, colors, tolerance }) => {
  const image = new Image();
  image.src = "data:image/png;base64," + base64;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const wanted = colors.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  const counts = colors.map(() => 0);
  for (let p = 0; p < data.length; p += 4) {
    wanted.forEach((rgb, k) => {
      if (rgb.every((value, c) => Math.abs(data[p + c] - value) <= tolerance)) counts[k]++;
    });
  }
  return Object.fromEntries(colors.map((hex, k) => [hex, counts[k]]));
}`;

/**
 * How many pixels of a PNG are each of `colors` ("#rrggbb", within `tolerance` per channel), decoded by
 * the browser itself (a canvas), so no image library is needed.
 */
export async function countColors(
  browser: Browser,
  png: Uint8Array,
  colors: string[],
  tolerance = 3,
): Promise<Record<string, number>> {
  const page = await browser.newPage();
  try {
    const base64 = btoa(Array.from(png, (byte) => String.fromCharCode(byte)).join(""));
    return await page.evaluate(`(${COUNT_IN_PAGE})(${JSON.stringify({ base64, colors, tolerance })})`);
  } finally {
    await page.close();
  }
}
