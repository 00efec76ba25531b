"use strict";
// EWS lifecycle with ews-javascript-api (the EWS Managed API's JavaScript port) against the stand-in, signed in
// with HTTP Basic; one step signs in with NTLM through @ewsjs/xhr. Environment: TP_EWS_URL, TP_EWS_USER (UPN),
// TP_EWS_PASSWORD, TP_NTLM_USER (DOMAIN\user), TP_OTHER_EMAIL (a recipient), TP_RUN. Prints one JSON line per step.
const ews = require("ews-javascript-api");
const { XhrApi } = require("@ewsjs/xhr");
const { env, step, check, tomorrowAt } = require("./lib");

const {
    ExchangeService, ExchangeVersion, WebCredentials, Uri, WellKnownFolderName, Folder, FolderId, Contact, Item,
    EmailAddressKey, EmailAddress, PropertySet, BasePropertySet, ContactSchema, ItemSchema, AppointmentSchema,
    ConflictResolutionMode, ItemView, SyncFolderItemsScope, ChangeType, Appointment, Recurrence, DateTime,
    CalendarView, EmailMessage, MessageBody, BodyType, DeleteMode, SendInvitationsMode, MessageDisposition,
    ServiceResponseException,
} = ews;

const url = env("TP_EWS_URL");
const user = env("TP_EWS_USER");
const password = env("TP_EWS_PASSWORD");
const ntlmUser = env("TP_NTLM_USER");
const other = env("TP_OTHER_EMAIL");
const tag = env("TP_RUN");

// The wire answers, for the steps that check how the server renders values.
const traces = [];

function service() {
    const svc = new ExchangeService(ExchangeVersion.Exchange2013_SP1);
    svc.Credentials = new WebCredentials(user, password);
    svc.Url = new Uri(url);
    // The library's own tracing (TraceFlags.EwsResponse) breaks its response handling in this version
    // ("serviceResponses.__thisIndexer is not a function"), so the answers are kept by wrapping the transport.
    const xhr = new XhrApi({ rejectUnauthorized: true });
    const send = xhr.xhr.bind(xhr);
    xhr.xhr = async (options, progress) => {
        const response = await send(options, progress);
        traces.push(String(response.responseText));
        return response;
    };
    svc.XHRApi = xhr;
    return svc;
}

function errorCode(error) {
    if (error instanceof ServiceResponseException || (error && error.ErrorCode !== undefined)) {
        return ews.ServiceError[error.ErrorCode] || String(error.ErrorCode);
    }
    return undefined;
}

async function contact(svc, given, surname) {
    const item = new Contact(svc);
    item.GivenName = given;
    item.Surname = surname;
    item.EmailAddresses._setItem(EmailAddressKey.EmailAddress1, new EmailAddress(`${given.toLowerCase()}@fabrikam.example`));
    return item;
}

async function main() {
    const state = {};
    let svc;

    await step("signin_basic", async () => {
        svc = service();
        const inbox = await Folder.Bind(svc, WellKnownFolderName.Inbox);
        check(inbox.DisplayName === "Inbox", `Inbox is called ${inbox.DisplayName}`);
        return { inbox: inbox.DisplayName };
    });

    await step("signin_ntlm", async () => {
        // @ewsjs/xhr starts its NTLM handshake with a GET carrying the NEGOTIATE message.
        const xhr = new XhrApi({ rejectUnauthorized: true }).useNtlmAuthentication(ntlmUser, password);
        const ntlm = new ExchangeService(ExchangeVersion.Exchange2013_SP1);
        ntlm.Url = new Uri(url);
        ntlm.Credentials = new WebCredentials(ntlmUser, password);  // required by the library; the XHR signs in
        ntlm.XHRApi = xhr;
        const inbox = await Folder.Bind(ntlm, WellKnownFolderName.Inbox);
        check(inbox.DisplayName === "Inbox", `Inbox is called ${inbox.DisplayName}`);
        return { inbox: inbox.DisplayName };
    });

    await step("create", async () => {
        const item = await contact(svc, "Ada", `Lovelace ${tag}`);
        item.CompanyName = "Fabrikam";
        await item.Save(WellKnownFolderName.Contacts);
        check(item.Id && item.Id.UniqueId && item.Id.ChangeKey, "the contact has an id and a change key");
        state.contactId = item.Id;
        return { id: item.Id.UniqueId };
    });

    await step("read_select", async () => {
        const props = new PropertySet(BasePropertySet.IdOnly, [ContactSchema.GivenName, ContactSchema.Surname,
            ContactSchema.CompanyName, ContactSchema.EmailAddresses]);
        const item = await Contact.Bind(svc, state.contactId, props);
        check(item.Surname === `Lovelace ${tag}` && item.CompanyName === "Fabrikam", `read ${item.Surname}`);
        const address = item.EmailAddresses._getItem(EmailAddressKey.EmailAddress1).Address;
        check(address === "ada@fabrikam.example", `email ${address}`);
        return { surname: item.Surname };
    });

    await step("update_change_key", async () => {
        const props = new PropertySet(BasePropertySet.IdOnly, [ContactSchema.JobTitle]);
        const first = await Contact.Bind(svc, state.contactId, props);
        state.stale = await Contact.Bind(svc, state.contactId, props);
        first.JobTitle = "Analyst";
        await first.Update(ConflictResolutionMode.AutoResolve);
        const after = await Contact.Bind(svc, state.contactId, props);
        check(after.JobTitle === "Analyst", `JobTitle ${after.JobTitle}`);
        check(after.Id.ChangeKey !== state.stale.Id.ChangeKey, "a write gives a new ChangeKey");
        return { changeKey: after.Id.ChangeKey };
    });

    await step("update_stale_change_key", async () => {
        check(state.stale, "a copy read before the update");
        state.stale.JobTitle = "Overwritten";
        let code;
        try {
            await state.stale.Update(ConflictResolutionMode.AutoResolve);
        } catch (error) {
            code = errorCode(error) || String(error && error.message);
        }
        check(code === "ErrorIrresolvableConflict", `stale ChangeKey answered ${code}`);
        return { code };
    });

    await step("paging", async () => {
        for (let i = 0; i < 5; i += 1) {
            await (await contact(svc, `P${i}`, `Pager ${tag}`)).Save(WellKnownFolderName.Contacts);
        }
        const view = new ItemView(2);
        view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [ContactSchema.Surname]);
        const seen = [];
        let pages = 0;
        for (;;) {
            const result = await svc.FindItems(WellKnownFolderName.Contacts, view);
            pages += 1;
            seen.push(...result.Items.filter((c) => String(c.Surname).endsWith(tag)).map((c) => c.Id.UniqueId));
            if (!result.MoreAvailable) {
                break;
            }
            check(pages < 20, "paging ends");
            view.Offset = result.NextPageOffset;
        }
        check(seen.length === 6 && new Set(seen).size === 6, `${seen.length} contacts on ${pages} pages`);
        return { seen: seen.length, pages };
    });

    async function syncAll(syncState) {
        const changes = [];
        let rounds = 0;
        for (;;) {
            const answer = await svc.SyncFolderItems(new FolderId(WellKnownFolderName.Contacts),
                PropertySet.IdOnly, null, 2, SyncFolderItemsScope.NormalItems, syncState);
            rounds += 1;
            syncState = answer.SyncState;
            for (const change of answer.GetEnumerator()) {
                changes.push({ type: ChangeType[change.ChangeType], id: change.ItemId.UniqueId });
            }
            if (!answer.MoreChangesAvailable) {
                return { changes, syncState, rounds };
            }
            check(rounds < 30, "synchronization ends");
        }
    }

    await step("sync_folder_items_initial", async () => {
        const round = await syncAll(null);
        check(round.rounds >= 3, `${round.rounds} rounds`);
        const types = new Set(round.changes.map((c) => c.type));
        check(!types.has("Update") && !types.has("ReadFlagChange"), `a first round lists ${[...types]}`);
        check(round.changes.some((c) => c.id === state.contactId.UniqueId), "the contact is listed");
        state.syncState = round.syncState;
        return { changes: round.changes.length, rounds: round.rounds };
    });

    await step("sync_folder_items_incremental", async () => {
        const item = await Contact.Bind(svc, state.contactId, new PropertySet(BasePropertySet.IdOnly, [ContactSchema.JobTitle]));
        item.JobTitle = "Lead analyst";
        await item.Update(ConflictResolutionMode.AlwaysOverwrite);
        const gone = await contact(svc, "Gone", tag);
        await gone.Save(WellKnownFolderName.Contacts);
        const goneId = gone.Id.UniqueId;
        const between = await syncAll(state.syncState);
        await gone.Delete(DeleteMode.HardDelete);
        const after = await syncAll(between.syncState);
        check(between.changes.some((c) => c.type === "Update" && c.id === state.contactId.UniqueId), "the update");
        check(between.changes.some((c) => c.type === "Create" && c.id === goneId), "the creation");
        check(after.changes.some((c) => c.type === "Delete" && c.id === goneId), `the deletion ${JSON.stringify(after.changes)}`);
        return { between: between.changes, after: after.changes };
    });

    await step("batch_create_items", async () => {
        const items = [await contact(svc, "Grace", `Batch ${tag}`), await contact(svc, "Edsger", `Batch ${tag}`)];
        const responses = await svc.CreateItems(items, new FolderId(WellKnownFolderName.Contacts), null, null);
        check(responses.OverallResult === ews.ServiceResult.Success, `result ${ews.ServiceResult[responses.OverallResult]}`);
        check(items.every((i) => i.Id && i.Id.UniqueId), "both items have ids");
        state.batchIds = items.map((i) => i.Id);
        return { count: responses.Count };
    });

    await step("recurring_event", async () => {
        const start = tomorrowAt(8);
        const appointment = new Appointment(svc);
        appointment.Subject = `Stand-up ${tag}`;
        appointment.Start = new DateTime(start.getTime());
        appointment.End = new DateTime(start.getTime() + 15 * 60000);
        const pattern = new Recurrence.DailyPattern(new DateTime(start.getTime()), 1);
        pattern.NumberOfOccurrences = 3;
        appointment.Recurrence = pattern;
        await appointment.Save(WellKnownFolderName.Calendar, SendInvitationsMode.SendToNone);
        state.appointmentId = appointment.Id;
        const view = new CalendarView(new DateTime(tomorrowAt(0).getTime()), new DateTime(start.getTime() + 10 * 86400000));
        view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [AppointmentSchema.Subject, AppointmentSchema.Start,
            AppointmentSchema.AppointmentType]);
        const found = await svc.FindAppointments(WellKnownFolderName.Calendar, view);
        const mine = found.Items.filter((a) => a.Subject === `Stand-up ${tag}`);
        const starts = mine.map((a) => new Date(a.Start.TotalMilliSeconds).toISOString());
        const expected = [0, 1, 2].map((d) => new Date(start.getTime() + d * 86400000).toISOString());
        check(JSON.stringify(starts) === JSON.stringify(expected), `occurrences ${JSON.stringify(starts)}`);
        return { starts };
    });

    await step("utc_date_times", async () => {
        // Exchange renders date-times itself, in UTC with a Z (GetItem calendar example).
        traces.length = 0;
        await Appointment.Bind(svc, state.appointmentId, new PropertySet(BasePropertySet.IdOnly, [AppointmentSchema.Start]));
        const wire = traces.join("\n");
        const match = /<t:Start>([^<]*)<\/t:Start>/.exec(wire);
        check(match, `a Start element in the answer (${traces.length} traces)`);
        check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(match[1]), `Start rendered as ${match[1]}`);
        return { start: match[1] };
    });

    await step("all_properties", async () => {
        // FirstClassProperties asks for AllProperties: the GetItem calendar example carries these.
        const item = await Appointment.Bind(svc, state.appointmentId, new PropertySet(BasePropertySet.FirstClassProperties));
        const missing = [];
        for (const name of ["IsAllDayEvent", "IsReminderSet", "ReminderMinutesBeforeStart", "Sensitivity", "Importance"]) {
            try {
                if (item[name] === undefined) {
                    missing.push(name);
                }
            } catch (error) {
                missing.push(name);
            }
        }
        check(missing.length === 0, `missing from AllProperties: ${missing.join(", ")}`);
        return { subject: item.Subject };
    });

    await step("send_mail", async () => {
        const message = new EmailMessage(svc);
        message.Subject = `Hello ${tag}`;
        message.Body = new MessageBody(BodyType.Text, "Hello from a third-party client");
        message.ToRecipients.Add(other);
        await message.SendAndSaveCopy();
        const view = new ItemView(50);
        view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [ItemSchema.Subject]);
        const sent = await svc.FindItems(WellKnownFolderName.SentItems, view);
        check(sent.Items.some((m) => m.Subject === `Hello ${tag}`), "the Sent Items copy is there");
        return { sent: sent.TotalCount };
    });

    await step("delete", async () => {
        check(state.contactId && state.appointmentId && state.batchIds, "items to delete");
        for (const id of [state.contactId, state.appointmentId, ...state.batchIds]) {
            const item = await Item.Bind(svc, id, PropertySet.IdOnly);
            await item.Delete(DeleteMode.HardDelete);
        }
        let code;
        try {
            await Contact.Bind(svc, state.contactId, PropertySet.IdOnly);
        } catch (error) {
            code = errorCode(error) || String(error && error.message);
        }
        check(code === "ErrorItemNotFound", `reading a deleted contact answered ${code}`);
        return { code };
    });

    await step("sync_from_scratch_after_deletes", async () => {
        // A client that starts over (no SyncState) gets "all the items" of the folder (EXD SyncFolderItems
        // operation), as creations, two a round here: nothing about items deleted before it started.
        const round = await syncAll(null);
        const created = new Set(round.changes.filter((c) => c.type === "Create").map((c) => c.id));
        const view = new ItemView(200);
        view.PropertySet = PropertySet.IdOnly;
        const live = (await svc.FindItems(WellKnownFolderName.Contacts, view)).Items.map((i) => i.Id.UniqueId);
        check(live.every((id) => created.has(id)) && created.size === live.length,
            `${created.size} creations for ${live.length} contacts`);
        const others = round.changes.filter((c) => c.type !== "Create");
        check(others.length === 0, `a first round also lists ${JSON.stringify(others)}`);
        return { changes: round.changes.length };
    });
}

main().then(
    () => process.exit(0),
    (error) => {
        process.stderr.write(`lifecycle aborted: ${error && error.stack}\n`);
        process.exit(2);
    },
);
