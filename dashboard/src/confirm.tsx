import type { ComponentChildren } from "preact";

/** Options of {@link Confirm}. */
export interface ConfirmProps {
  readonly title: string;
  readonly children?: ComponentChildren;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}

/**
 * An in-page confirmation: the browser's confirm() would block the page
 * (and its countdowns), and could not show what is about to change.
 */
export function Confirm(props: ConfirmProps) {
  return (
    <div class="overlay" role="presentation">
      <div class="dialog" role="alertdialog" aria-modal="true" aria-label={props.title}>
        <h3>{props.title}</h3>
        <div class="dialog-body">{props.children}</div>
        <div class="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="button" class={props.danger === true ? "danger" : "primary"} data-testid="confirm" onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
