// Load an iasem SurveyJS export with the real SurveyJS Form Library and print what it sees, as JSON.
//
//   node check_surveyjs.mjs path/to/instrument_surveyjs.json
//
// Printed: survey-core's version, the deserializer's jsonErrors and the linter's findings, the pages,
// every question with its texts, rows, columns and choices in each locale, and a few behaviours
// (consent hides the questionnaire, matrix rows and numbers are validated).
// Run by tests/test_export_surveyjs.py; `npm install` in this folder first.

import { readFileSync } from "node:fs";
import { Model, Version, surveyLocalization } from "survey-core";
import "survey-core/i18n/dutch";
import { lintSurvey } from "survey-core/linter";

const json = JSON.parse(readFileSync(process.argv[2], "utf8"));
const model = new Model(json);

const items = (list) => (list || []).map((item) => ({ value: item.value, text: item.text }));

function describe(question) {
  const out = {
    name: question.name,
    type: question.getType(),
    title: question.title,
    description: question.description || null,
    isRequired: question.isRequired,
    page: question.page ? question.page.name : null,
  };
  if (question.getType() === "matrix") {
    out.eachRowRequired = question.eachRowRequired;
    out.rows = items(question.rows);
    out.columns = items(question.columns);
  }
  if (question.choices) out.choices = items(question.choices);
  if (question.getType() === "rating") out.rateValues = items(question.rateValues);
  if (question.getType() === "text") {
    Object.assign(out, { inputType: question.inputType, min: question.min, max: question.max });
    out.minErrorText = question.minErrorText;
    out.validators = question.validators.map((v) => ({ type: v.getType(), text: v.text }));
  }
  return out;
}

function inLocale(locale) {
  model.locale = locale;
  return {
    locale: model.locale,
    title: model.title,
    description: model.description,
    completedHtml: model.completedHtml,
    completeText: model.completeText,
    pages: model.pages.map((page) => ({ name: page.name, title: page.title })),
    questions: model.getAllQuestions().map(describe),
  };
}

function errorsOf(name, value) {
  const question = model.getQuestionByName(name);
  model.setValue(name, value);
  question.validate(true);
  return question.errors.map((e) => e.text);
}

function behaviour() {
  model.locale = json.locale;
  const out = { visiblePages: {}, matrix: null, numbers: {} };
  for (const answer of [undefined, 0, 1]) {
    model.clear(true, true);
    if (answer !== undefined) model.setValue("consent", answer);
    out.visiblePages[String(answer)] = model.visiblePages.map((page) => page.name);
  }
  const matrix = model.getAllQuestions().find((q) => q.getType() === "matrix");
  if (matrix) {
    const [first, ...rest] = matrix.rows.map((row) => row.value);
    const value = matrix.columns[0].value;
    out.matrix = {
      name: matrix.name,
      empty: errorsOf(matrix.name, undefined).length,
      oneRow: errorsOf(matrix.name, { [first]: value }).length,
      allRows: errorsOf(matrix.name, Object.fromEntries([first, ...rest].map((row) => [row, value]))).length,
    };
  }
  for (const question of model.getAllQuestions().filter((q) => q.inputType === "number")) {
    out.numbers[question.name] = Object.fromEntries(
      [question.min - 1, question.min, question.max, question.max + 1, question.min + 0.5].map((v) => [
        String(v),
        errorsOf(question.name, v).length,
      ]),
    );
  }
  return out;
}

const lint = lintSurvey(json);
const report = {
  surveyCore: Version,
  defaultLocale: surveyLocalization.defaultLocale,
  jsonErrors: (model.jsonErrors || []).map((e) => e.message),
  lint: lint.findings.map((f) => ({ ruleId: f.ruleId, severity: f.severity, message: f.message })),
  locale: model.locale,
  pageCount: model.pageCount,
  pages: model.pages.map((page) => ({ name: page.name, visibleIf: page.visibleIf || null })),
  questionNames: model.getAllQuestions().map((q) => q.name),
  locales: { nl: inLocale("nl"), en: inLocale("en") },
  behaviour: behaviour(),
};
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
