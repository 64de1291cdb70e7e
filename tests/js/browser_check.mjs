// Open local pages in headless Chromium (puppeteer-core driving the installed browser) and print what a reader
// sees of them, as JSON.
//
//   node browser_check.mjs jobs.json
//
// jobs.json: {"executablePath": "/usr/bin/chromium",
//             "jobs": [{"name", "url", "kind": "survey" | "report", "viewport": {...}, "shots": "dir"}, ...]}
//
// For every job: the console messages, uncaught page errors, local requests that failed, and every request
// that was not for a local file (blocked, so that a page which needs the internet shows up here instead of
// passing by luck). Then what the page shows:
//   survey: a SurveyJS survey (window.survey, rendered into #surveyElement) walked page by page as a
//           respondent does: what each question shows, the answers set through the model, the survey's own
//           Next button clicked, until its Complete button; a screenshot of every page.
//   report: the report's tables and figures (APA style: <figure> with a number, a title and a <table> or a
//           graphic), and how wide the document is against the window; a full-page screenshot.
// One browser serves all jobs, each in its own context. Run by tests/test_browser.py; `npm ci` here first.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const LOCAL = /^(file|data|blob|about):/;

// Installed in every page: what a reader sees of an element. innerText leaves out what CSS hides.
function installHelpers() {
  window.__seen = (element) => {
    if (!element) return null;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return {
      text: (element.innerText ?? element.textContent).replace(/\s+/g, " ").trim(),
      width: Math.round(box.width),
      height: Math.round(box.height),
      visible: box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none",
    };
  };
  window.__width = () => ({
    viewport: window.innerWidth,
    document: document.documentElement.scrollWidth,
    // what sticks out beyond the window's right edge outside a scrolling wrapper: the culprits, if any
    overflowing: [...document.body.querySelectorAll("*")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((e) => {
        for (let p = e.parentElement; p; p = p.parentElement) {
          if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return false;
        }
        return true;
      })
      .slice(0, 10)
      .map((e) => [e.tagName.toLowerCase(), ...e.classList].join(".")),
  });
}

// Whether every question of the survey's current page is in the document (the model moves on before the view).
function pageRendered() {
  const root = document.getElementById("surveyElement");
  return window.survey.currentPage.questions.every((q) => root.querySelector(`[data-name="${q.name}"]`));
}

// The current page of window.survey: its questions as shown.
function surveyPage() {
  const survey = window.survey;
  const root = document.getElementById("surveyElement");
  const page = survey.currentPage;
  return {
    name: page.name,
    title: window.__seen(root.querySelector(".sd-page__title")),
    questions: page.questions.map((question) => {
      const element = root.querySelector(`[data-name="${question.name}"]`);
      return {
        name: question.name,
        type: question.getType(),
        element: window.__seen(element),
        title: window.__seen(element && element.querySelector(".sd-question__title")),
        inputs: element ? element.querySelectorAll("input").length : 0,
        columnHeaders: element ? [...element.querySelectorAll("th")].map(window.__seen) : [],
        choices: element ? [...element.querySelectorAll(".sd-item__control-label")].map(window.__seen) : [],
      };
    }),
    width: window.__width(),
  };
}

// Answer the current page through the model (consent: yes, so the questionnaire follows). Returns the label of
// the button that should now lead on: Next, or Complete on the last page.
function surveyAnswer() {
  const survey = window.survey;
  const answer = (question) => {
    switch (question.getType()) {
      case "matrix":
        return Object.fromEntries(question.rows.map((row) => [row.value, question.columns[0].value]));
      case "checkbox":
        return [question.choices[0].value];
      case "radiogroup":
      case "dropdown":
        return question.name === "consent" ? 1 : question.choices[0].value;
      case "rating":
        return question.rateValues.length ? question.rateValues[0].value : question.rateMin;
      case "text":
        return question.inputType === "number" ? (question.min ?? 1) : "x";
      default:
        return undefined;
    }
  };
  for (const question of survey.currentPage.questions) {
    const value = answer(question);
    if (value !== undefined) survey.setValue(question.name, value);
  }
  return survey.isLastPage ? survey.completeText : survey.pageNextText;
}

// The survey's own visible button with this label.
function surveyButton(label) {
  const buttons = document.querySelectorAll("#surveyElement input[type=button], #surveyElement button");
  return [...buttons].find((b) => (b.value || b.innerText).trim() === label && window.__seen(b).visible) || null;
}

async function walkSurvey(page, job, out) {
  Object.assign(
    out,
    await page.evaluate(() => ({ locale: window.survey.locale, surveyCore: window.Survey.Version })),
  );
  for (let step = 0; step < 50; step++) {
    const state = await page.evaluate(() => window.survey.state);
    if (state !== "running") break;
    const name = await page.evaluate(() => window.survey.currentPage.name);
    if (out.pages.some((p) => p.name === name)) break; // Next did not move on: the test reports it
    await page.waitForFunction(pageRendered, { timeout: 15000 });
    out.pages.push(await page.evaluate(surveyPage));
    if (job.shots) {
      const file = join(job.shots, `${job.name}-${String(step).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      out.pages.at(-1).screenshot = file;
    }
    const label = await page.evaluate(surveyAnswer);
    // the button follows the answers on the next render (consent turns Complete into Next)
    const button = await page.waitForFunction(surveyButton, { timeout: 15000 }, label).catch(() => null);
    out.steps.push({ page: name, clicked: button ? label : null });
    if (!button) break;
    await button.asElement().click();
    await page.waitForFunction(
      (previous) => window.survey.state !== "running" || window.survey.currentPage.name !== previous,
      { timeout: 15000 },
      name,
    );
  }
  out.state = await page.evaluate(() => window.survey.state);
  if (out.state === "completed") {
    await page.waitForSelector(".sd-completedpage", { visible: true, timeout: 15000 });
    out.completedPage = await page.evaluate(() => window.__seen(document.querySelector(".sd-completedpage")));
    out.data = await page.evaluate(() => window.survey.data);
  }
}

// The report's tables and figures: <figure class="apa-table|apa-figure"> with .apa-number and .apa-title.
function reportContents() {
  return {
    title: document.title,
    figures: [...document.querySelectorAll("figure")].map((figure) => {
      const table = figure.querySelector("table");
      const scroller = table && table.parentElement;
      return {
        className: figure.className,
        number: window.__seen(figure.querySelector(".apa-number")),
        title: window.__seen(figure.querySelector(".apa-title")),
        table: table ? { ...window.__seen(table), rows: table.rows.length } : null,
        // a table wider than the window must scroll inside its wrapper rather than widen the page
        scroller: scroller && {
          overflowX: getComputedStyle(scroller).overflowX,
          width: scroller.clientWidth,
          scrollWidth: scroller.scrollWidth,
        },
        graphics: [...figure.querySelectorAll("svg, img")]
          .filter((g) => !(g.parentElement && g.parentElement.closest("svg")))
          .map((g) => ({
            tag: g.tagName.toLowerCase(),
            ...window.__seen(g),
            loaded: g.tagName !== "IMG" || (g.complete && g.naturalWidth > 0),
          })),
      };
    }),
    width: window.__width(),
  };
}

async function runJob(browser, job) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const started = Date.now();
  const result = { name: job.name, console: [], pageErrors: [], failedRequests: [], blockedRequests: [] };
  page.on("console", (msg) => {
    const where = msg.location();
    result.console.push({ type: msg.type(), text: msg.text(), url: (where && where.url) || null });
  });
  page.on("pageerror", (error) => result.pageErrors.push(String((error && error.stack) || error)));
  page.on("requestfailed", (request) => {
    if (LOCAL.test(request.url())) {
      result.failedRequests.push({ url: request.url(), error: request.failure() && request.failure().errorText });
    }
  });
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    if (LOCAL.test(request.url())) return request.continue();
    result.blockedRequests.push(request.url());
    return request.abort("blockedbyclient");
  });
  try {
    await page.setViewport(job.viewport || { width: 1280, height: 900 });
    await page.evaluateOnNewDocument(installHelpers);
    await page.goto(job.url, { waitUntil: "load", timeout: 30000 });
    if (job.kind === "survey") {
      await page.waitForSelector("#surveyElement .sd-page [data-name]", { visible: true, timeout: 15000 });
      result.survey = { pages: [], steps: [] };
      await walkSurvey(page, job, result.survey);
    } else if (job.kind === "report") {
      result.report = await page.evaluate(reportContents);
      if (job.shots) {
        result.screenshot = join(job.shots, `${job.name}.png`);
        await page.screenshot({ path: result.screenshot, fullPage: true });
      }
    }
  } catch (error) {
    result.error = String((error && error.stack) || error);
  } finally {
    await context.close();
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const browser = await puppeteer.launch({
  executablePath: spec.executablePath,
  headless: true,
  // CI runs as root, where Chromium will not start with its sandbox.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const results = { browser: await browser.version(), jobs: [] };
try {
  // The jobs share nothing but the browser: side by side, where there are cores to spare, they take about the
  // time of the slowest.
  results.jobs = await Promise.all(spec.jobs.map((job) => runJob(browser, job)));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results, null, 2) + "\n");
