"use strict";
// Shared by the lifecycle scripts: read the environment the pytest module sets, run named steps, and print one
// JSON line per step ({"step", "ok", "detail"} or {"step", "ok": false, "error"}) so a failure names the step.

function env(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`environment variable ${name} is not set (run through tests/thirdparty/test_thirdparty.py)`);
    }
    return value;
}

function report(line) {
    process.stdout.write(JSON.stringify(line) + "\n");
}

function describe(error) {
    if (error === null || error === undefined) {
        return String(error);
    }
    if (typeof error !== "object") {
        return String(error);
    }
    const parts = [];
    for (const key of ["name", "message", "status", "statusCode", "code", "ErrorCode", "errorCode"]) {
        if (error[key] !== undefined && error[key] !== null && error[key] !== "") {
            parts.push(`${key}=${typeof error[key] === "object" ? JSON.stringify(error[key]) : error[key]}`);
        }
    }
    if (error.body !== undefined) {
        parts.push(`body=${String(typeof error.body === "object" ? JSON.stringify(error.body) : error.body).slice(0, 600)}`);
    }
    if (error.error !== undefined && typeof error.error === "object") {
        parts.push(`error=${JSON.stringify(error.error).slice(0, 600)}`);
    }
    return parts.length ? parts.join(" ") : String(error);
}

function check(condition, message) {
    if (!condition) {
        throw new Error(`check failed: ${message}`);
    }
}

function withTimeout(promise, seconds, what) {
    let timer;
    const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// Runs one step: its result (any JSON value) is the detail; a throw marks the step failed. The lifecycle goes on,
// so steps that do not need the failed one still report.
async function step(name, fn, seconds = 30) {
    try {
        const detail = await withTimeout(Promise.resolve().then(fn), seconds, `step ${name}`);
        report({ step: name, ok: true, detail: detail === undefined ? null : detail });
        return detail;
    } catch (error) {
        report({ step: name, ok: false, error: describe(error) });
        return undefined;
    }
}

function isoNoMillis(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Tomorrow at the given UTC hour, so a short daily series lies in every stand-in's expansion window.
function tomorrowAt(hour) {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, hour, 0, 0));
}

module.exports = { env, report, describe, check, step, withTimeout, isoNoMillis, tomorrowAt };
