import { describe, expect, it } from "vitest";
import type { Scope } from "../src/backend/backend";
import { can, gate, missingText, NEEDS, permissionWords } from "../src/scopes";

const employee: Scope[] = ["read:timesheets", "create:timesheets", "delete:timesheets"];
const manager: Scope[] = [...employee, "approve:timesheets"];
const auditor: Scope[] = ["read:timesheets"];

describe("scopes", () => {
  it("maps each action to the scope the API checks", () => {
    expect(NEEDS).toEqual({
      view: "read:timesheets",
      create: "create:timesheets",
      edit: "create:timesheets",
      delete: "delete:timesheets",
      approve: "approve:timesheets",
    });
  });

  it("allows what is granted and nothing else", () => {
    expect(can(employee, "create")).toBe(true);
    expect(can(employee, "delete")).toBe(true);
    expect(can(employee, "approve")).toBe(false);
    expect(can(manager, "approve")).toBe(true);
    expect(can(auditor, "view")).toBe(true);
    expect(can(auditor, "edit")).toBe(false);
    expect(can(auditor, "delete")).toBe(false);
    expect(can([], "view")).toBe(false);
  });

  it("says which permission is missing", () => {
    expect(gate(auditor, "create")).toEqual({
      allowed: false,
      scope: "create:timesheets",
      reason: "Needs the create:timesheets permission",
    });
    expect(gate(employee, "approve")).toMatchObject({ allowed: false, reason: missingText("approve:timesheets") });
    expect(gate(manager, "approve")).toEqual({ allowed: true });
  });

  it("lists granted permissions in plain words, in a fixed order", () => {
    expect(permissionWords(manager)).toBe("View, Add & edit, Delete, Approve");
    expect(permissionWords(["approve:timesheets", "read:timesheets"])).toBe("View, Approve");
    expect(permissionWords(auditor)).toBe("View");
    expect(permissionWords([])).toBe("No timesheet permissions");
  });
});
