import { describe, expect, it } from "vitest";
import { FakeBackend, makeEntry, PERSONAS, UNAVAILABLE_MESSAGE } from "../src/backend/fake";

const user = (name: keyof typeof PERSONAS) => ({ ...PERSONAS[name], scopes: [...PERSONAS[name].scopes] });

describe("FakeBackend", () => {
  it("enforces scopes with forbidden naming the scope", async () => {
    const fake = new FakeBackend({ user: user("auditor"), signedIn: true });
    await expect(
      fake.createEntry({ date: "2026-11-23", project: "A", notes: "", hours: 1 }, "k"),
    ).rejects.toMatchObject({
      code: "forbidden",
      scope: "create:timesheets",
    });
    await expect(fake.pendingApprovals()).rejects.toMatchObject({ code: "forbidden", scope: "approve:timesheets" });
    await expect(fake.listEntries("2026-11-23", "2026-11-29")).resolves.toEqual([]);
  });

  it("creates once per idempotency key and validates like the API", async () => {
    const fake = new FakeBackend({ signedIn: true });
    const body = { date: "2026-11-23", project: " Apollo ", notes: "", hours: 7.5 };
    const a = await fake.createEntry(body, "same");
    const b = await fake.createEntry(body, "same");
    expect(b.id).toBe(a.id);
    expect(a.project).toBe("Apollo");
    expect(fake.entries).toHaveLength(1);
    await expect(fake.createEntry({ ...body, hours: 0.3 }, "k2")).rejects.toMatchObject({
      code: "invalid",
      field: "hours",
    });
    await expect(fake.createEntry({ ...body, date: "2026-02-30" }, "k3")).rejects.toMatchObject({
      code: "invalid",
      field: "date",
    });
  });

  it("freezes approved entries and lets nobody decide their own", async () => {
    const approved = makeEntry({
      owner: PERSONAS.manager.sub,
      date: "2026-11-23",
      project: "A",
      hours: 1,
      status: "approved",
    });
    const own = makeEntry({ owner: PERSONAS.manager.sub, date: "2026-11-24", project: "A", hours: 1, status: "submitted" });
    const other = makeEntry({
      owner: "dev|ada",
      owner_name: "Ada",
      date: "2026-11-24",
      project: "A",
      hours: 1,
      status: "submitted",
    });
    const fake = new FakeBackend({ user: user("manager"), signedIn: true, entries: [approved, own, other] });
    await expect(fake.updateEntry(approved.id, { hours: 2 })).rejects.toMatchObject({ code: "conflict" });
    await expect(fake.deleteEntry(approved.id)).rejects.toMatchObject({ code: "conflict" });
    expect((await fake.pendingApprovals()).map((e) => e.id)).toEqual([other.id]);
    const outcomes = await fake.decide([other.id, own.id], "approve");
    expect(outcomes[0]?.entry?.status).toBe("approved");
    expect(outcomes[1]?.error?.code).toBe("forbidden");
  });

  it("signs in through a waiting state and pushes session changes", async () => {
    const fake = new FakeBackend();
    const pushed: string[] = [];
    fake.onSession((s) => pushed.push(s.state));
    expect((await fake.signIn()).state).toBe("waiting_for_browser");
    expect((await fake.cancelSignIn()).state).toBe("signed_out");
    await fake.signIn();
    fake.completeSignIn();
    expect(pushed).toEqual(["signed_in"]);
    expect((await fake.session()).user?.name).toBe("Erin Employee");
    fake.setOffline(true);
    await expect(fake.listEntries("2026-11-23", "2026-11-29")).rejects.toMatchObject({ code: "offline" });
  });

  it("can be unable to verify sign-ins: says so in the session and fails data calls with unavailable", async () => {
    const fake = new FakeBackend({ signedIn: true });
    expect((await fake.session()).cannot_verify).toBe(false);
    const pushed: boolean[] = [];
    fake.onSession((s) => pushed.push(s.cannot_verify));
    fake.setCannotVerify(true);
    expect(pushed).toEqual([true]);
    expect((await fake.session()).cannot_verify).toBe(true);
    expect((await fake.session()).offline).toBe(false);
    const unavailable = { code: "unavailable", message: UNAVAILABLE_MESSAGE };
    await expect(fake.listEntries("2026-11-23", "2026-11-29")).rejects.toMatchObject(unavailable);
    await expect(
      fake.createEntry({ date: "2026-11-23", project: "A", notes: "", hours: 1 }, "k"),
    ).rejects.toMatchObject(unavailable);
    await expect(fake.updateEntry("x", { hours: 1 })).rejects.toMatchObject(unavailable);
    await expect(fake.deleteEntry("x")).rejects.toMatchObject(unavailable);
    await expect(fake.pendingApprovals()).rejects.toMatchObject(unavailable);
    await expect(fake.decide(["x"], "approve")).rejects.toMatchObject(unavailable);
    expect(fake.entries).toHaveLength(0);
    fake.setCannotVerify(false);
    expect(pushed).toEqual([true, false]);
    await expect(fake.listEntries("2026-11-23", "2026-11-29")).resolves.toEqual([]);
    // Only ever true while signed in.
    fake.setCannotVerify(true);
    expect((await fake.signOut()).cannot_verify).toBe(false);
  });
});
