/** The `<option>`s of a select, from a list of `{ value, label }` choices. */
export function Options({ items }: { items: readonly { value: string; label: string }[] }) {
  return (
    <>
      {items.map((item) => (
        <option key={item.value} value={item.value}>
          {item.label}
        </option>
      ))}
    </>
  );
}
