"use strict";
// Dataverse Web API lifecycle with dynamics-web-api (AleksandrRogov/DynamicsWebApi) against the stand-in.
// Environment: TP_DATAVERSE_URL (the environment's URL), TP_DATAVERSE_TOKEN (a bearer token for it, handed out
// through the library's onTokenRefresh callback), TP_USER_ID (the signed-in user's systemuserid), TP_RUN (a tag
// that keeps this run's rows apart). Prints one JSON line per step (lib.js).
const { DynamicsWebApi } = require("dynamics-web-api");
const { env, step, check, isoNoMillis, tomorrowAt } = require("./lib");

const url = env("TP_DATAVERSE_URL");
const token = env("TP_DATAVERSE_TOKEN");
const userId = env("TP_USER_ID");
const tag = env("TP_RUN");
let tokenCalls = 0;

const api = new DynamicsWebApi({
    serverUrl: url,
    dataApi: { version: "9.2" },
    propagateErrors: true,
    timeout: 20000,
    onTokenRefresh: async () => {
        tokenCalls += 1;
        return token;
    },
});

function statusOf(error) {
    return error && (error.status ?? error.statusCode);
}

async function main() {
    const state = {};

    await step("signin", async () => {
        const who = await api.callFunction("WhoAmI");
        check(who.UserId === userId, `WhoAmI.UserId ${who.UserId} is the signed-in user ${userId}`);
        check(tokenCalls > 0, "the token came from onTokenRefresh");
        return { UserId: who.UserId, tokenCalls };
    });

    await step("metadata", async () => {
        // What the library (and Microsoft's own clients) ask first: the table's definition.
        const contact = await api.retrieveEntity({
            key: "LogicalName='contact'",
            select: ["LogicalName", "EntitySetName", "PrimaryIdAttribute"],
        });
        check(contact.EntitySetName === "contacts", `EntitySetName ${contact.EntitySetName}`);
        check(contact.PrimaryIdAttribute === "contactid", `PrimaryIdAttribute ${contact.PrimaryIdAttribute}`);
        const filtered = await api.retrieveEntities({
            select: ["LogicalName", "EntitySetName", "PrimaryIdAttribute"],
            filter: "LogicalName eq 'account'",
        });
        check(filtered.value.length === 1 && filtered.value[0].EntitySetName === "accounts", "accounts by filter");
        const attributes = await api.retrieveAttributes({
            entityKey: "LogicalName='contact'",
            select: ["LogicalName"],
        });
        check(attributes.value.some((a) => a.LogicalName === "lastname"), "contact has lastname");
        return { entitySet: contact.EntitySetName, attributes: attributes.value.length };
    });

    await step("retrieve_entity_function", async () => {
        // One table's whole definition in one request (PAD webapi/reference/retrieveentity): the library passes
        // the parameters as @p1..@p4 aliases, the enum value and the GUID unquoted, the name quoted.
        const answer = await api.callFunction({
            name: "RetrieveEntity",
            parameters: {
                EntityFilters: "Microsoft.Dynamics.CRM.EntityFilters'Attributes'",
                LogicalName: "contact",
                MetadataId: "00000000-0000-0000-0000-000000000000",
                RetrieveAsIfPublished: false,
            },
        });
        const table = answer.EntityMetadata;
        check(table && table.EntitySetName === "contacts", `EntityMetadata.EntitySetName ${table && table.EntitySetName}`);
        const byName = new Map((table.Attributes || []).map((a) => [a.LogicalName, a]));
        const lastname = byName.get("lastname");
        check(lastname && lastname.MaxLength > 0, "lastname carries its MaxLength");
        const status = byName.get("statuscode");
        check(status && status.OptionSet && status.OptionSet.Options.length > 0, "statuscode carries its options");
        return { attributes: byName.size, statusOptions: status.OptionSet.Options.length };
    });

    await step("create", async () => {
        const account = await api.create({
            collection: "accounts",
            data: { name: `Fabrikam ${tag}` },
            returnRepresentation: true,
            select: ["accountid", "name"],
        });
        check(account.accountid, "account has an id");
        state.accountId = account.accountid;
        state.contactId = await api.create({
            collection: "contacts",
            data: {
                firstname: "Ada",
                lastname: `Lovelace ${tag}`,
                emailaddress1: "ada@fabrikam.example",
                "parentcustomerid_account@odata.bind": `accounts(${account.accountid})`,
            },
        });
        check(/^[0-9a-f-]{36}$/.test(state.contactId), `contact id ${state.contactId}`);
        return { accountId: state.accountId, contactId: state.contactId };
    });

    await step("read_select_expand", async () => {
        const contact = await api.retrieve({
            collection: "contacts",
            key: state.contactId,
            select: ["fullname", "emailaddress1"],
            expand: [{ property: "parentcustomerid_account", select: ["name"] }],
        });
        check(contact.fullname === `Ada Lovelace ${tag}`, `fullname ${contact.fullname}`);
        check(contact.parentcustomerid_account && contact.parentcustomerid_account.name === `Fabrikam ${tag}`,
            "expanded account name");
        check(contact.oDataEtag || contact["@odata.etag"], "row carries an ETag");
        state.etag = contact["@odata.etag"];
        return { fullname: contact.fullname, etag: state.etag };
    });

    await step("update_if_match", async () => {
        await api.update({
            collection: "contacts",
            key: state.contactId,
            data: { jobtitle: "Analyst" },
            ifmatch: state.etag,
        });
        const after = await api.retrieve({ collection: "contacts", key: state.contactId, select: ["jobtitle"] });
        check(after.jobtitle === "Analyst", `jobtitle ${after.jobtitle}`);
        check(after["@odata.etag"] !== state.etag, "a write gives a new ETag");
        return { before: state.etag, after: after["@odata.etag"] };
    });

    await step("update_stale_if_match", async () => {
        let status;
        try {
            await api.update({
                collection: "contacts",
                key: state.contactId,
                data: { jobtitle: "Overwritten" },
                ifmatch: state.etag,
            });
        } catch (error) {
            status = statusOf(error);
        }
        check(status === 412, `stale If-Match answered ${status}, expected 412`);
        const row = await api.retrieve({ collection: "contacts", key: state.contactId, select: ["jobtitle"] });
        check(row.jobtitle === "Analyst", "the stale write changed nothing");
        return { status };
    });

    await step("paging", async () => {
        for (let i = 0; i < 7; i += 1) {
            await api.create({ collection: "contacts", data: { firstname: `P${i}`, lastname: `Pager ${tag}` } });
        }
        const filter = `lastname eq 'Pager ${tag}'`;
        let page = await api.retrieveMultiple({ collection: "contacts", select: ["firstname"], filter, maxPageSize: 3 });
        const sizes = [page.value.length];
        while (page.oDataNextLink) {
            page = await api.retrieveMultiple({ collection: "contacts", select: ["firstname"], filter, maxPageSize: 3 },
                page.oDataNextLink);
            sizes.push(page.value.length);
            check(sizes.length < 10, "paging ends");
        }
        check(JSON.stringify(sizes) === "[3,3,1]", `page sizes ${JSON.stringify(sizes)}`);
        const all = await api.retrieveAll({ collection: "contacts", select: ["firstname"], filter, maxPageSize: 2 });
        check(all.value.length === 7, `retrieveAll found ${all.value.length}`);
        return { sizes, all: all.value.length };
    });

    await step("fetchxml_paging", async () => {
        const fetchXml = `<fetch count="3"><entity name="contact"><attribute name="firstname"/>`
            + `<filter><condition attribute="lastname" operator="eq" value="Pager ${tag}"/></filter>`
            + `<order attribute="firstname"/></entity></fetch>`;
        // The paging cookie comes only when asked for (PAD "Page results using FetchXml").
        const includeAnnotations = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie";
        const first = await api.fetch({ collection: "contacts", fetchXml, includeAnnotations });
        check(first.value.length === 3 && first.PagingInfo, "a first page with paging information");
        // Page by hand first (bounded): the last page must carry neither a cookie nor morerecords.
        let page = first;
        let pageNumber = 1;
        let rows = first.value.length;
        while (page.PagingInfo) {
            check(pageNumber < 5, `page ${pageNumber + 1} still carries a paging cookie (${rows} of 7 rows read)`);
            pageNumber = page.PagingInfo.nextPage;
            page = await api.fetch({
                collection: "contacts", fetchXml, includeAnnotations, pageNumber, pagingCookie: page.PagingInfo.cookie,
            });
            rows += page.value.length;
        }
        check(rows === 7, `${rows} rows on ${pageNumber} pages`);
        // The library's own loop pages while the answer carries a paging cookie.
        const all = await api.fetchAll({ collection: "contacts", fetchXml, includeAnnotations });
        check(all.value.length === 7, `fetchAll found ${all.value.length}`);
        return { firstPage: first.value.length, all: all.value.length };
    }, 20);

    await step("track_changes_initial", async () => {
        const round = await api.retrieveMultiple({
            collection: "contacts",
            select: ["firstname", "lastname"],
            trackChanges: true,
        });
        check(round.oDataDeltaLink, "the first round ends with a delta link");
        check(round.value.some((r) => r.contactid === state.contactId), "the first round lists the contact");
        state.deltaLink = round.oDataDeltaLink;
        return { rows: round.value.length };
    });

    await step("track_changes_incremental", async () => {
        await api.update({ collection: "contacts", key: state.contactId, data: { jobtitle: "Lead analyst" } });
        const gone = await api.create({ collection: "contacts", data: { lastname: `Gone ${tag}` } });
        await api.deleteRecord({ collection: "contacts", key: gone });
        const round = await api.retrieveMultiple({ collection: "contacts" }, state.deltaLink);
        const changed = round.value.filter((r) => r.contactid === state.contactId);
        const removed = round.value.filter((r) => r.id === gone && r.reason === "deleted");
        check(changed.length === 1, "the changed contact comes back");
        check(removed.length === 1, `the deleted contact is reported: ${JSON.stringify(round.value)}`);
        check(round.oDataDeltaLink && round.oDataDeltaLink !== state.deltaLink, "a new delta link");
        return { rows: round.value.length };
    });

    await step("batch_change_set", async () => {
        api.startBatch();
        api.create({
            collection: "contacts",
            data: { firstname: "Grace", lastname: `Hopper ${tag}` },
            contentId: "1",
            inChangeSet: true,
        });
        api.create({
            collection: "tasks",
            data: { subject: `Call Grace ${tag}`, "regardingobjectid_contact_task@odata.bind": "$1" },
            inChangeSet: true,
        });
        api.retrieveMultiple({ collection: "contacts", select: ["fullname"], filter: `lastname eq 'Hopper ${tag}'` });
        const responses = await api.executeBatch();
        check(responses.length === 3, `${responses.length} responses`);
        const [contactId, taskId, query] = responses;
        check(/^[0-9a-f-]{36}$/.test(String(contactId)) && /^[0-9a-f-]{36}$/.test(String(taskId)),
            `ids ${JSON.stringify(responses.slice(0, 2))}`);
        check(query.value.length === 1, "the GET after the change set sees the new contact");
        const task = await api.retrieve({ collection: "tasks", key: taskId, select: ["_regardingobjectid_value"] });
        check(task._regardingobjectid_value === contactId, "the task is regarding the contact ($1)");
        state.batchContactId = contactId;
        return { contactId, taskId };
    });

    await step("recurring_event", async () => {
        const start = tomorrowAt(8);
        const end = new Date(start.getTime() + 30 * 60000);
        const patternStart = tomorrowAt(0);
        const masterId = await api.create({
            collection: "recurringappointmentmasters",
            data: {
                subject: `Stand-up ${tag}`,
                starttime: isoNoMillis(start),
                endtime: isoNoMillis(end),
                recurrencepatterntype: 0,
                interval: 1,
                patternstartdate: isoNoMillis(patternStart),
                patternendtype: 2,
                occurrences: 3,
                recurringappointmentmaster_activity_parties: [
                    { participationtypemask: 7, "partyid_systemuser@odata.bind": `systemusers(${userId})` },
                ],
            },
        });
        const instances = await api.retrieveMultiple({
            collection: "appointments",
            select: ["scheduledstart", "instancetypecode"],
            filter: `_seriesid_value eq ${masterId}`,
            orderBy: ["scheduledstart"],
        });
        // the library turns date-time strings into Date objects
        const starts = instances.value.map((r) => isoNoMillis(new Date(r.scheduledstart)));
        const expected = [0, 1, 2].map((d) => isoNoMillis(new Date(start.getTime() + d * 86400000)));
        check(JSON.stringify(starts) === JSON.stringify(expected), `instances ${JSON.stringify(starts)}`);
        state.masterId = masterId;
        return { masterId, starts };
    });

    await step("send_mail", async () => {
        const emailId = await api.create({
            collection: "emails",
            data: {
                subject: `Hello ${tag}`,
                description: "<p>Hello from a third-party client</p>",
                directioncode: true,
                email_activity_parties: [
                    { participationtypemask: 1, "partyid_systemuser@odata.bind": `systemusers(${userId})` },
                    { participationtypemask: 2, "partyid_contact@odata.bind": `contacts(${state.contactId})` },
                ],
            },
        });
        const sent = await api.callAction({
            actionName: "Microsoft.Dynamics.CRM.SendEmail",
            collection: "emails",
            key: emailId,
            action: { IssueSend: false },
        });
        const row = await api.retrieve({ collection: "emails", key: emailId, select: ["statecode", "statuscode"] });
        check(row.statecode === 1, `sent email statecode ${row.statecode}`);
        return { emailId, subject: sent && sent.Subject };
    });

    await step("delete", async () => {
        for (const [collection, key] of [
            ["contacts", state.contactId],
            ["contacts", state.batchContactId],
            ["recurringappointmentmasters", state.masterId],
            ["accounts", state.accountId],
        ]) {
            check(key, `a ${collection} row to delete`);
            await api.deleteRecord({ collection, key });
        }
        let status;
        try {
            await api.retrieve({ collection: "contacts", key: state.contactId, select: ["fullname"] });
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
