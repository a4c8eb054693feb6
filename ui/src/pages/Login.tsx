import { useState, type FormEvent } from "react";
import { Navigate, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { queryKeys, setMe, useMe } from "../api/queries";
import { safeNextPath } from "../auth";
import { ErrorAlert } from "../components/Alert";

/** Email and password; once signed in, on to the page the visitor wanted (`?next=`), else the dashboard. */
export function Login() {
  const [params] = useSearchParams();
  const next = safeNextPath(params.get("next"));
  const me = useMe();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");

  const signIn = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/login", { body: { email: email.trim(), password } })),
    onSuccess: (signedIn) => {
      // Nothing cached for whoever was signed in before may show through.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== queryKeys.me[0] });
      setMe(queryClient, signedIn);
    },
  });

  if (me.data) return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };

  return (
    <div className="auth-screen">
      <form className="card auth-card form" onSubmit={submit} aria-label="Sign in">
        <div className="auth-brand">
          <span className="brand-mark" aria-hidden="true">
            H
          </span>
          <span className="brand-name">Herald</span>
        </div>
        <h1>Sign in</h1>
        <label className="field">
          <span className="field-label">Email</span>
          <input
            name="email"
            type="email"
            className="input"
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            autoComplete="username"
            required
            autoFocus
          />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input
            name="password"
            type="password"
            className="input"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="current-password"
            required
          />
        </label>
        <ErrorAlert error={signIn.error} />
        <button type="submit" className="btn btn-primary" disabled={signIn.isPending}>
          Sign in
        </button>
      </form>
    </div>
  );
}
