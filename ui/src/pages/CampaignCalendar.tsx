import { useCallback, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Calendar, dateFnsLocalizer, type View } from "react-big-calendar";
import dragAndDropModule, { type EventInteractionArgs } from "react-big-calendar/lib/addons/dragAndDrop";
import { format, getDay, parse, startOfWeek } from "date-fns";
import { enUS } from "date-fns/locale";
import "react-big-calendar/lib/css/react-big-calendar.css";
import "react-big-calendar/lib/addons/dragAndDrop/styles.css";
import { queryKeys } from "../api/queries";
import { WEEK_STARTS_ON, dropProblem, keepTimeOfDay, visibleRange, type CalendarView } from "../campaigns/calendar";
import type { CalendarEntry } from "../campaigns/model";
import { campaignApi, useCalendar } from "../campaigns/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime } from "../format";
import { useCan } from "../session";
import { browserTimeZone } from "../campaigns/schedule";

const localizer = dateFnsLocalizer({
  format,
  parse,
  startOfWeek: (date: Date) => startOfWeek(date, { weekStartsOn: WEEK_STARTS_ON }),
  getDay,
  locales: { "en-US": enUS },
});

// The drag-and-drop add-on ships as CommonJS only: depending on the bundler's interop its default import is the
// function or the module object holding it.
const withDragAndDrop =
  (dragAndDropModule as unknown as { default?: typeof dragAndDropModule }).default ?? dragAndDropModule;
const DnDCalendar = withDragAndDrop<CalendarEntry>(Calendar);

const VIEWS: CalendarView[] = ["month", "week", "day"];

/** `/campaigns/calendar`: scheduled and running campaigns by month, week or day; drag a scheduled one to move it. */
export function CampaignCalendarPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const mayLaunch = useCan("campaigns:launch");
  const mayWrite = useCan("campaigns:write");
  const canMove = mayLaunch || mayWrite;
  const [date, setDate] = useState(() => new Date());
  const [view, setView] = useState<CalendarView>("month");
  const [notice, setNotice] = useState<string | null>(null);
  const [dropError, setDropError] = useState<unknown>(null);
  const range = useMemo(() => visibleRange(date, view), [date, view]);
  const calendar = useCalendar(range.from, range.to);
  // Moves shown at once, until the calendar is read again.
  const [moved, setMoved] = useState<Record<number, { start: Date; end: Date }>>({});

  const events = useMemo(
    () => (calendar.data ?? []).map((e) => (moved[e.id] ? { ...e, ...moved[e.id] } : e)),
    [calendar.data, moved],
  );

  const reschedule = useMutation({
    mutationFn: ({ entry, at }: { entry: CalendarEntry; at: Date }) => campaignApi.reschedule(entry.id, at),
    onSuccess: async (_, { entry, at }) => {
      setNotice(`“${entry.name}” now starts ${formatDateTime(at.toISOString())}.`);
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(entry.id) });
      // The calendar's queries start with "campaigns": keep the moved event where it was dropped until they answer.
      await queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
      setMoved({});
    },
    onError: (error, { entry }) => {
      setDropError(error);
      setMoved((old) => {
        const copy = { ...old };
        delete copy[entry.id];
        return copy;
      });
    },
  });

  const onDrop = useCallback(
    ({ event, start, isAllDay }: EventInteractionArgs<CalendarEntry>) => {
      setNotice(null);
      setDropError(null);
      if (!event.movable) return;
      const dropped = keepTimeOfDay(event.start, new Date(start), view === "month" || Boolean(isAllDay));
      const problem = dropProblem(dropped);
      if (problem) {
        setDropError(new Error(problem));
        return;
      }
      const length = event.end.getTime() - event.start.getTime();
      setMoved((old) => ({ ...old, [event.id]: { start: dropped, end: new Date(dropped.getTime() + length) } }));
      reschedule.mutate({ entry: event, at: dropped });
    },
    [reschedule, view],
  );

  return (
    <>
      <Link to="/campaigns" className="back-link">
        ← Campaigns
      </Link>
      <PageHeader
        title="Campaign calendar"
        subtitle={
          <>
            Scheduled and running campaigns, in your browser's time ({browserTimeZone()}).
            {canMove && " Drag a scheduled campaign to another time to reschedule it."}
          </>
        }
      />
      {notice && (
        <Alert tone="success" onDismiss={() => setNotice(null)}>
          {notice}
        </Alert>
      )}
      <ErrorAlert error={dropError ?? calendar.error} onDismiss={dropError ? () => setDropError(null) : undefined} />
      <section className={`card campaign-calendar ${calendar.isFetching ? "is-stale" : ""}`} aria-label="Calendar" data-testid="campaign-calendar">
        <DnDCalendar
          localizer={localizer}
          culture="en-US"
          events={events}
          date={date}
          view={view as View}
          views={VIEWS}
          onNavigate={(next) => setDate(next)}
          onView={(next) => setView((VIEWS as string[]).includes(next) ? (next as CalendarView) : "month")}
          startAccessor="start"
          endAccessor="end"
          titleAccessor="name"
          tooltipAccessor={(e) => `${e.name} · ${e.status}${e.movable ? " · drag to reschedule" : ""}`}
          draggableAccessor={(e) => canMove && e.movable}
          resizable={false}
          onEventDrop={onDrop}
          onSelectEvent={(e) => navigate(`/campaigns/${e.id}`)}
          eventPropGetter={(e) => ({ className: `cal-event cal-${e.status} ${e.movable ? "cal-movable" : ""}` })}
          popup
          style={{ height: 680 }}
        />
      </section>
    </>
  );
}
