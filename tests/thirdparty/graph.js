"use strict";
// Microsoft Graph lifecycle with @microsoft/microsoft-graph-client (msgraph-sdk-javascript 3.x) against the
// stand-in: a custom authentication provider hands out the bearer token, the stand-in's origin is the client's
// base URL and a custom host. Environment: TP_GRAPH_URL (…/v1.0), TP_GRAPH_TOKEN, TP_EMAIL (the signed-in
// mailbox), TP_OTHER_EMAIL (a recipient), TP_RUN. Prints one JSON line per step (lib.js).
const { Client, PageIterator, BatchRequestContent, BatchResponseContent } = require("@microsoft/microsoft-graph-client");
const { env, step, check, isoNoMillis, tomorrowAt } = require("./lib");

const graphUrl = new URL(env("TP_GRAPH_URL"));
const token = env("TP_GRAPH_TOKEN");
const me = env("TP_EMAIL");
const other = env("TP_OTHER_EMAIL");
const tag = env("TP_RUN");
const EXT_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name ThirdPartyTag";

const client = Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => token },
    baseUrl: `${graphUrl.origin}/`,
    defaultVersion: graphUrl.pathname.replace(/^\/|\/$/g, ""),
    // the client compares host names without the port (GraphRequestUtil.isValidEndpoint)
    customHosts: new Set([graphUrl.hostname]),
});

function statusOf(error) {
    return error && error.statusCode;
}

async function readAll(path, options = {}) {
    // Follows @odata.nextLink to the end and returns the rows and the last page (with its deltaLink, if any).
    let request = client.api(path);
    if (options.maxPageSize) {
        request = request.header("Prefer", `odata.maxpagesize=${options.maxPageSize}`);
    }
    let page = await request.get();
    const rows = [...page.value];
    let pages = 1;
    while (page["@odata.nextLink"]) {
        check(pages < 50, "paging ends");
        let next = client.api(page["@odata.nextLink"]);
        if (options.maxPageSize) {
            next = next.header("Prefer", `odata.maxpagesize=${options.maxPageSize}`);
        }
        page = await next.get();
        rows.push(...page.value);
        pages += 1;
    }
    return { rows, last: page, pages };
}

function contact(given, surname) {
    return {
        givenName: given,
        surname,
        emailAddresses: [{ address: `${given.toLowerCase()}@fabrikam.example`, name: `${given} ${surname}` }],
    };
}

async function main() {
    const state = {};

    await step("signin", async () => {
        const user = await client.api("/me").select(["displayName", "mail"]).get();
        check(String(user.mail).toLowerCase() === me.toLowerCase(), `/me is ${user.mail}`);
        return { mail: user.mail };
    });

    await step("create", async () => {
        const created = await client.api("/me/contacts").post({
            ...contact("Ada", `Lovelace ${tag}`),
            singleValueExtendedProperties: [{ id: EXT_ID, value: tag }],
        });
        check(created.id && created.changeKey, "the contact has an id and a change key");
        state.contactId = created.id;
        state.folderId = created.parentFolderId;
        return { id: created.id };
    });

    await step("read_select_expand", async () => {
        const row = await client.api(`/me/contacts/${state.contactId}`)
            .select(["givenName", "surname", "emailAddresses"])
            .expand(`singleValueExtendedProperties($filter=id eq '${EXT_ID}')`)
            .get();
        state.etag = row["@odata.etag"];
        check(state.etag, "the row carries an ETag");
        check(row.surname === `Lovelace ${tag}` && row.givenName === "Ada", `names ${row.givenName} ${row.surname}`);
        check(row.emailAddresses.length === 1, `emailAddresses ${JSON.stringify(row.emailAddresses)}`);
        const ext = row.singleValueExtendedProperties || [];
        check(ext.length === 1 && ext[0].value === tag, `extended property ${JSON.stringify(ext)}`);
        return { surname: row.surname, etag: state.etag };
    });

    await step("display_name_computed", async () => {
        // Outlook fills displayName from the name parts when a client sends none ("Create contact" example).
        const row = await client.api(`/me/contacts/${state.contactId}`).select(["displayName"]).get();
        check(row.displayName === `Ada Lovelace ${tag}`, `displayName ${row.displayName}`);
        return { displayName: row.displayName };
    });

    await step("update_if_match", async () => {
        const updated = await client.api(`/me/contacts/${state.contactId}`)
            .header("If-Match", state.etag)
            .patch({ jobTitle: "Analyst" });
        check(updated.jobTitle === "Analyst", `jobTitle ${updated.jobTitle}`);
        check(updated["@odata.etag"] !== state.etag, "a write gives a new ETag");
        return { etag: updated["@odata.etag"] };
    });

    await step("update_stale_if_match", async () => {
        let error;
        try {
            await client.api(`/me/contacts/${state.contactId}`).header("If-Match", state.etag).patch({ jobTitle: "X" });
        } catch (caught) {
            error = caught;
        }
        check(statusOf(error) === 412, `stale If-Match answered ${statusOf(error)}, expected 412`);
        check(error.code === "ErrorIrresolvableConflict", `error code ${error.code}`);
        return { status: 412, code: error.code };
    });

    await step("paging", async () => {
        for (let i = 0; i < 5; i += 1) {
            await client.api("/me/contacts").post(contact(`P${i}`, `Pager ${tag}`));
        }
        const seen = [];
        const first = await client.api("/me/contacts").select(["surname"]).top(2).get();
        const iterator = new PageIterator(client, first, (row) => {
            if (String(row.surname).endsWith(tag)) {
                seen.push(row.id);
            }
            return true;
        });
        await iterator.iterate();
        check(iterator.isComplete(), "the page iterator reached the end");
        check(seen.length === 6 && new Set(seen).size === 6, `${seen.length} contacts seen`);
        return { seen: seen.length };
    });

    await step("delta_initial", async () => {
        const path = `/me/contactFolders/${state.folderId}/contacts/delta?$select=displayName,jobTitle`;
        const round = await readAll(path, { maxPageSize: 2 });
        check(round.pages >= 3, `${round.pages} pages`);
        check(round.last["@odata.deltaLink"], "the round ends with a delta link");
        check(round.rows.some((r) => r.id === state.contactId), "the round lists the contact");
        state.deltaLink = round.last["@odata.deltaLink"];
        return { rows: round.rows.length, pages: round.pages };
    });

    await step("delta_incremental", async () => {
        await client.api(`/me/contacts/${state.contactId}`).patch({ jobTitle: "Lead analyst" });
        const gone = await client.api("/me/contacts").post(contact("Gone", tag));
        const round0 = await readAll(state.deltaLink);
        await client.api(`/me/contacts/${gone.id}`).delete();
        const round = await readAll(round0.last["@odata.deltaLink"]);
        const changed = round0.rows.find((r) => r.id === state.contactId);
        check(changed && changed.jobTitle === "Lead analyst", "the changed contact comes back");
        check(round0.rows.some((r) => r.id === gone.id), "the new contact comes back");
        check(round.rows.some((r) => r.id === gone.id && r["@removed"]), "the deleted contact is @removed");
        return { changed: round0.rows.length, removed: round.rows.length };
    });

    await step("delta_function_form", async () => {
        // Graph's API description declares delta as a function: generated clients call …/delta().
        const round = await readAll(`/me/contactFolders/${state.folderId}/contacts/delta()`);
        check(round.last["@odata.deltaLink"], "the round ends with a delta link");
        const events = await readAll("/me/calendarView/delta()?startDateTime=2026-01-01T00:00:00Z"
            + "&endDateTime=2028-01-01T00:00:00Z");
        check(events.last["@odata.deltaLink"], "the calendarView round ends with a delta link");
        return { contacts: round.rows.length };
    });

    await step("batch", async () => {
        const batch = new BatchRequestContent();
        const headers = { "Content-Type": "application/json" };
        for (const [id, given] of [["1", "Grace"], ["2", "Edsger"]]) {
            batch.addRequest({
                id,
                request: new Request(`${graphUrl.origin}/v1.0/me/contacts`, {
                    method: "POST", headers, body: JSON.stringify(contact(given, `Batch ${tag}`)),
                }),
            });
        }
        batch.addRequest({
            id: "3",
            request: new Request(`${graphUrl.origin}/v1.0/me/contacts?$top=1`, { method: "GET" }),
        });
        const answer = await client.api("/$batch").post(await batch.getContent());
        const responses = new BatchResponseContent(answer);
        const statuses = ["1", "2", "3"].map((id) => responses.getResponseById(id).status);
        check(JSON.stringify(statuses) === "[201,201,200]", `statuses ${JSON.stringify(statuses)}`);
        const created = await responses.getResponseById("1").json();
        check(created.givenName === "Grace", `created ${JSON.stringify(created).slice(0, 200)}`);
        state.batchContactId = created.id;
        return { statuses };
    });

    await step("recurring_event", async () => {
        const start = tomorrowAt(8);
        const day = isoNoMillis(start).slice(0, 10);
        const wall = (d) => isoNoMillis(d).slice(0, 19);
        const master = await client.api("/me/events").post({
            subject: `Stand-up ${tag}`,
            start: { dateTime: wall(start), timeZone: "UTC" },
            end: { dateTime: wall(new Date(start.getTime() + 15 * 60000)), timeZone: "UTC" },
            recurrence: {
                pattern: { type: "daily", interval: 1 },
                range: { type: "numbered", startDate: day, numberOfOccurrences: 3, recurrenceTimeZone: "UTC" },
            },
        });
        check(master.type === "seriesMaster", `type ${master.type}`);
        state.eventId = master.id;
        const windowEnd = new Date(start.getTime() + 10 * 86400000);
        const instances = await client.api(`/me/events/${master.id}/instances`)
            .query({ startDateTime: isoNoMillis(tomorrowAt(0)), endDateTime: isoNoMillis(windowEnd) })
            .select(["start", "type", "seriesMasterId"])
            .get();
        const starts = instances.value.map((e) => e.start.dateTime.slice(0, 19));
        const expected = [0, 1, 2].map((d) => wall(new Date(start.getTime() + d * 86400000)));
        check(JSON.stringify(starts) === JSON.stringify(expected), `occurrences ${JSON.stringify(starts)}`);
        check(instances.value.every((e) => e.type === "occurrence" && e.seriesMasterId === master.id), "occurrences");
        const view = await readAll(`/me/calendarView/delta?startDateTime=${isoNoMillis(tomorrowAt(0))}`
            + `&endDateTime=${isoNoMillis(windowEnd)}`);
        check(view.rows.filter((e) => e.seriesMasterId === master.id).length === 3, "calendarView lists the occurrences");
        return { starts };
    });

    await step("time_zones", async () => {
        // 15 January 2027, 09:00 in Berlin (W. Europe Standard Time, UTC+1 in winter) is 08:00 UTC.
        const event = await client.api("/me/events").post({
            subject: `Zoned ${tag}`,
            start: { dateTime: "2027-01-15T09:00:00", timeZone: "W. Europe Standard Time" },
            end: { dateTime: "2027-01-15T09:30:00", timeZone: "W. Europe Standard Time" },
        });
        state.zonedId = event.id;
        const utc = await client.api(`/me/events/${event.id}`).select(["start", "end"]).get();
        check(utc.start.timeZone === "UTC" && utc.start.dateTime.startsWith("2027-01-15T08:00:00"),
            `without Prefer: start ${JSON.stringify(utc.start)}, expected 08:00 UTC`);
        const pacific = await client.api(`/me/events/${event.id}`)
            .header("Prefer", 'outlook.timezone="Pacific Standard Time"')
            .select(["start"]).get();
        check(pacific.start.timeZone === "Pacific Standard Time"
            && pacific.start.dateTime.startsWith("2027-01-15T00:00:00"),
            `with Prefer Pacific: start ${JSON.stringify(pacific.start)}, expected 00:00`);
        return { utc: utc.start, pacific: pacific.start };
    });

    await step("send_mail", async () => {
        const subject = `Hello ${tag}`;
        await client.api("/me/sendMail").post({
            message: {
                subject,
                body: { contentType: "Text", content: "Hello from a third-party client" },
                toRecipients: [{ emailAddress: { address: other } }],
            },
            saveToSentItems: true,
        });
        return { subject };
    });

    await step("sent_items", async () => {
        const subject = `Hello ${tag}`;
        const sent = await readAll("/me/mailFolders/sentitems/messages?$select=subject,toRecipients");
        const copy = sent.rows.find((m) => m.subject === subject);
        check(copy, "the Sent Items copy is there");
        check(copy.toRecipients[0].emailAddress.address.toLowerCase() === other.toLowerCase(), "recipient");
        return { id: copy.id };
    });

    await step("messages_filter", async () => {
        const found = await client.api("/me/mailFolders/sentitems/messages")
            .filter(`subject eq 'Hello ${tag}'`).select(["subject"]).get();
        check(found.value.length === 1, `${found.value.length} messages found by subject`);
        return { found: found.value.length };
    });

    await step("messages_delta", async () => {
        const first = await readAll("/me/mailFolders/sentitems/messages/delta?$select=subject", { maxPageSize: 1 });
        const copy = first.rows.find((m) => m.subject === `Hello ${tag}`);
        check(copy && first.last["@odata.deltaLink"], "the first round lists the sent message and ends with a delta link");
        await client.api(`/me/messages/${copy.id}`).delete();
        const next = await readAll(first.last["@odata.deltaLink"]);
        check(next.rows.some((m) => m.id === copy.id && m["@removed"]), `the deleted message is @removed`);
        return { first: first.rows.length, next: next.rows.length };
    });

    await step("todo_tasks", async () => {
        const lists = await client.api("/me/todo/lists").get();
        const list = lists.value.find((l) => l.wellknownListName === "defaultList");
        check(list, "a default task list");
        const base = `/me/todo/lists/${list.id}/tasks`;
        const first = await readAll(`${base}/delta`);
        check(first.last["@odata.deltaLink"], "the first round ends with a delta link");
        const task = await client.api(base).post({ title: `Follow up ${tag}`, importance: "high" });
        const updated = await client.api(`${base}/${task.id}`).header("If-Match", task["@odata.etag"])
            .patch({ status: "completed" });
        check(updated.status === "completed", `status ${updated.status}`);
        const next = await readAll(first.last["@odata.deltaLink"]);
        check(next.rows.some((t) => t.id === task.id && t.status === "completed"), "the task comes back completed");
        await client.api(`${base}/${task.id}`).delete();
        const last = await readAll(next.last["@odata.deltaLink"]);
        check(last.rows.some((t) => t.id === task.id && t["@removed"]), "the deleted task is @removed");
        return { task: task.id };
    });

    await step("delete", async () => {
        for (const path of [
            `/me/contacts/${state.contactId}`,
            `/me/contacts/${state.batchContactId}`,
            `/me/events/${state.eventId}`,
            `/me/events/${state.zonedId}`,
        ]) {
            check(!path.endsWith("/undefined"), `an item to delete (${path})`);
            await client.api(path).delete();
        }
        let status;
        try {
            await client.api(`/me/contacts/${state.contactId}`).get();
        } catch (error) {
            status = statusOf(error);
        }
        check(status === 404, `reading a deleted contact answered ${status}`);
        return { status };
    });
}

main().then(
    () => process.exit(0),
    (error) => {
        process.stderr.write(`lifecycle aborted: ${error && error.stack}\n`);
        process.exit(2);
    },
);
