/** The text of anything thrown, for a line on the page. */
export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
