/**
 * `memo` without preact/compat: compat patches Preact's global hooks for React
 * code, which this app does not need.
 */
import { Component, createElement, type ComponentType, type FunctionComponent } from "preact";
import { shallowEqual } from "../equal";

/**
 * `view`, rendered again only when one of its props changed (each compared with
 * `Object.is`). For views shown many times, such as the cells of the week grid:
 * the props must then be data that keeps its identity while it is unchanged,
 * and callbacks that stay the same function.
 */
export function memo<P extends object>(view: FunctionComponent<P>): ComponentType<P> {
  class Memo extends Component<P> {
    static override displayName = `memo(${view.displayName ?? view.name})`;

    override shouldComponentUpdate(next: Readonly<P>): boolean {
      return !shallowEqual(this.props, next);
    }

    override render() {
      return createElement(view, this.props);
    }
  }
  return Memo;
}
