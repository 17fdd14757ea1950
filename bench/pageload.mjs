// Cold load of the login page until it is usable (hydrated: <body data-hydrated="true">) in
// Chromium with its network throttled to 10 Mbit/s and 40 ms latency, cache off.
//   node bench/pageload.mjs <base URL> <runs>
// Prints the median and every run in ms, and the bytes the page transferred.
import { chromium } from "playwright";

const [base, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"],
});
const times = [];
let bytes = 0;
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 40,
      downloadThroughput: (10 * 1000 * 1000) / 8,
      uploadThroughput: (10 * 1000 * 1000) / 8,
    });
    let transferred = 0;
    cdp.on("Network.loadingFinished", (e) => (transferred += e.encodedDataLength));
    const started = Date.now();
    await page.goto(`${base}/login`, { waitUntil: "commit" });
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 600_000 });
    times.push(Date.now() - started);
    bytes = transferred;
    await context.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({ median_ms: median, runs_ms: times, transferred_bytes: bytes }));
