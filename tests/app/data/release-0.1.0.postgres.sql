--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: studydirection; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.studydirection AS ENUM (
    'NOT_SET',
    'MINIMIZE',
    'MAXIMIZE'
);


--
-- Name: trialintermediatevaluetype; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.trialintermediatevaluetype AS ENUM (
    'FINITE',
    'INF_POS',
    'INF_NEG',
    'NAN'
);


--
-- Name: trialstate; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.trialstate AS ENUM (
    'RUNNING',
    'COMPLETE',
    'PRUNED',
    'FAIL',
    'WAITING'
);


--
-- Name: trialvaluetype; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.trialvaluetype AS ENUM (
    'FINITE',
    'INF_POS',
    'INF_NEG'
);


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: adamtune_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.adamtune_events (
    id integer NOT NULL,
    study_id integer NOT NULL,
    kind character varying(16) NOT NULL,
    trial_number integer,
    epoch integer,
    train_loss double precision,
    val_loss double precision,
    val_accuracy double precision,
    elapsed_s double precision,
    state character varying(16),
    value double precision,
    message text,
    payload json
);


--
-- Name: adamtune_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.adamtune_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: adamtune_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.adamtune_events_id_seq OWNED BY public.adamtune_events.id;


--
-- Name: adamtune_jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.adamtune_jobs (
    study_id integer NOT NULL,
    study_name character varying(512) NOT NULL,
    task character varying(128) NOT NULL,
    config json NOT NULL,
    n_trials integer NOT NULL,
    timeout_s double precision,
    parallelism integer,
    status character varying(16) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    started_at timestamp without time zone,
    finished_at timestamp without time zone,
    last_worker character varying(255),
    error text
);


--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: studies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.studies (
    study_id integer NOT NULL,
    study_name character varying(512) NOT NULL
);


--
-- Name: studies_study_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.studies_study_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: studies_study_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.studies_study_id_seq OWNED BY public.studies.study_id;


--
-- Name: study_directions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.study_directions (
    study_direction_id integer NOT NULL,
    direction public.studydirection NOT NULL,
    study_id integer NOT NULL,
    objective integer NOT NULL
);


--
-- Name: study_directions_study_direction_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.study_directions_study_direction_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: study_directions_study_direction_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.study_directions_study_direction_id_seq OWNED BY public.study_directions.study_direction_id;


--
-- Name: study_system_attributes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.study_system_attributes (
    study_system_attribute_id integer NOT NULL,
    study_id integer,
    key character varying(512),
    value_json text
);


--
-- Name: study_system_attributes_study_system_attribute_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.study_system_attributes_study_system_attribute_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: study_system_attributes_study_system_attribute_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.study_system_attributes_study_system_attribute_id_seq OWNED BY public.study_system_attributes.study_system_attribute_id;


--
-- Name: study_user_attributes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.study_user_attributes (
    study_user_attribute_id integer NOT NULL,
    study_id integer,
    key character varying(512),
    value_json text
);


--
-- Name: study_user_attributes_study_user_attribute_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.study_user_attributes_study_user_attribute_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: study_user_attributes_study_user_attribute_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.study_user_attributes_study_user_attribute_id_seq OWNED BY public.study_user_attributes.study_user_attribute_id;


--
-- Name: trial_heartbeats; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_heartbeats (
    trial_heartbeat_id integer NOT NULL,
    trial_id integer NOT NULL,
    heartbeat timestamp without time zone NOT NULL
);


--
-- Name: trial_heartbeats_trial_heartbeat_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_heartbeats_trial_heartbeat_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_heartbeats_trial_heartbeat_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_heartbeats_trial_heartbeat_id_seq OWNED BY public.trial_heartbeats.trial_heartbeat_id;


--
-- Name: trial_intermediate_values; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_intermediate_values (
    trial_intermediate_value_id integer NOT NULL,
    trial_id integer NOT NULL,
    step integer NOT NULL,
    intermediate_value double precision,
    intermediate_value_type public.trialintermediatevaluetype NOT NULL
);


--
-- Name: trial_intermediate_values_trial_intermediate_value_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_intermediate_values_trial_intermediate_value_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_intermediate_values_trial_intermediate_value_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_intermediate_values_trial_intermediate_value_id_seq OWNED BY public.trial_intermediate_values.trial_intermediate_value_id;


--
-- Name: trial_params; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_params (
    param_id integer NOT NULL,
    trial_id integer,
    param_name character varying(512),
    param_value double precision,
    distribution_json text
);


--
-- Name: trial_params_param_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_params_param_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_params_param_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_params_param_id_seq OWNED BY public.trial_params.param_id;


--
-- Name: trial_system_attributes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_system_attributes (
    trial_system_attribute_id integer NOT NULL,
    trial_id integer,
    key character varying(512),
    value_json text
);


--
-- Name: trial_system_attributes_trial_system_attribute_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_system_attributes_trial_system_attribute_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_system_attributes_trial_system_attribute_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_system_attributes_trial_system_attribute_id_seq OWNED BY public.trial_system_attributes.trial_system_attribute_id;


--
-- Name: trial_user_attributes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_user_attributes (
    trial_user_attribute_id integer NOT NULL,
    trial_id integer,
    key character varying(512),
    value_json text
);


--
-- Name: trial_user_attributes_trial_user_attribute_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_user_attributes_trial_user_attribute_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_user_attributes_trial_user_attribute_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_user_attributes_trial_user_attribute_id_seq OWNED BY public.trial_user_attributes.trial_user_attribute_id;


--
-- Name: trial_values; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trial_values (
    trial_value_id integer NOT NULL,
    trial_id integer NOT NULL,
    objective integer NOT NULL,
    value double precision,
    value_type public.trialvaluetype NOT NULL
);


--
-- Name: trial_values_trial_value_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trial_values_trial_value_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trial_values_trial_value_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trial_values_trial_value_id_seq OWNED BY public.trial_values.trial_value_id;


--
-- Name: trials; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trials (
    trial_id integer NOT NULL,
    number integer,
    study_id integer,
    state public.trialstate NOT NULL,
    datetime_start timestamp without time zone,
    datetime_complete timestamp without time zone
);


--
-- Name: trials_trial_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.trials_trial_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: trials_trial_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.trials_trial_id_seq OWNED BY public.trials.trial_id;


--
-- Name: version_info; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.version_info (
    version_info_id integer NOT NULL,
    schema_version integer,
    library_version character varying(256),
    CONSTRAINT version_info_version_info_id_check CHECK ((version_info_id = 1))
);


--
-- Name: adamtune_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adamtune_events ALTER COLUMN id SET DEFAULT nextval('public.adamtune_events_id_seq'::regclass);


--
-- Name: studies study_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.studies ALTER COLUMN study_id SET DEFAULT nextval('public.studies_study_id_seq'::regclass);


--
-- Name: study_directions study_direction_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_directions ALTER COLUMN study_direction_id SET DEFAULT nextval('public.study_directions_study_direction_id_seq'::regclass);


--
-- Name: study_system_attributes study_system_attribute_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_system_attributes ALTER COLUMN study_system_attribute_id SET DEFAULT nextval('public.study_system_attributes_study_system_attribute_id_seq'::regclass);


--
-- Name: study_user_attributes study_user_attribute_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_user_attributes ALTER COLUMN study_user_attribute_id SET DEFAULT nextval('public.study_user_attributes_study_user_attribute_id_seq'::regclass);


--
-- Name: trial_heartbeats trial_heartbeat_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_heartbeats ALTER COLUMN trial_heartbeat_id SET DEFAULT nextval('public.trial_heartbeats_trial_heartbeat_id_seq'::regclass);


--
-- Name: trial_intermediate_values trial_intermediate_value_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_intermediate_values ALTER COLUMN trial_intermediate_value_id SET DEFAULT nextval('public.trial_intermediate_values_trial_intermediate_value_id_seq'::regclass);


--
-- Name: trial_params param_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_params ALTER COLUMN param_id SET DEFAULT nextval('public.trial_params_param_id_seq'::regclass);


--
-- Name: trial_system_attributes trial_system_attribute_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_system_attributes ALTER COLUMN trial_system_attribute_id SET DEFAULT nextval('public.trial_system_attributes_trial_system_attribute_id_seq'::regclass);


--
-- Name: trial_user_attributes trial_user_attribute_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_user_attributes ALTER COLUMN trial_user_attribute_id SET DEFAULT nextval('public.trial_user_attributes_trial_user_attribute_id_seq'::regclass);


--
-- Name: trial_values trial_value_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_values ALTER COLUMN trial_value_id SET DEFAULT nextval('public.trial_values_trial_value_id_seq'::regclass);


--
-- Name: trials trial_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trials ALTER COLUMN trial_id SET DEFAULT nextval('public.trials_trial_id_seq'::regclass);


--
-- Data for Name: adamtune_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.adamtune_events VALUES (1, 1, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'queued', NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (2, 1, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'running', NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (3, 1, 'trial_started', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"params": {}}');
INSERT INTO public.adamtune_events VALUES (4, 1, 'epoch', 0, 1, 139.81956129807693, 121.16603088378906, NULL, 0.03472974700002851, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (5, 1, 'epoch', 0, 2, 104.39579577323718, 87.97728729248047, NULL, 0.09364071900000681, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (6, 1, 'trial_finished', 0, NULL, NULL, NULL, NULL, NULL, 'COMPLETE', 87.97728729248047, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (7, 1, 'trial_started', 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"params": {}}');
INSERT INTO public.adamtune_events VALUES (8, 1, 'epoch', 1, 1, 148.00985326522436, 137.31643676757812, NULL, 0.09184737099997164, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (9, 1, 'epoch', 1, 2, 127.18573467548077, 116.8978500366211, NULL, 0.15079131300001336, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (10, 1, 'trial_finished', 1, NULL, NULL, NULL, NULL, NULL, 'COMPLETE', 116.8978500366211, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (11, 1, 'trial_started', 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"params": {}}');
INSERT INTO public.adamtune_events VALUES (12, 1, 'epoch', 2, 1, 129.13331330128204, 100.53113555908203, NULL, 0.04853198500001099, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (13, 1, 'epoch', 2, 2, 76.8484387520032, 55.07323455810547, NULL, 0.11848453200002496, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (14, 1, 'trial_finished', 2, NULL, NULL, NULL, NULL, NULL, 'COMPLETE', 55.07323455810547, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (15, 1, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'completed', NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (16, 2, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'queued', NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (17, 2, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'running', NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (18, 2, 'trial_started', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"params": {}}');
INSERT INTO public.adamtune_events VALUES (19, 2, 'epoch', 0, 1, 139.8194861778846, 121.16551208496094, NULL, 0.058146878999991713, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (20, 2, 'epoch', 0, 2, 104.39409930889423, 87.97618103027344, NULL, 0.12070429300001706, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (21, 2, 'trial_finished', 0, NULL, NULL, NULL, NULL, NULL, 'COMPLETE', 87.97618103027344, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (22, 2, 'trial_started', 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{"params": {}}');
INSERT INTO public.adamtune_events VALUES (23, 2, 'epoch', 1, 1, 129.13272485977564, 100.53044128417969, NULL, 0.06925698400004876, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (24, 2, 'epoch', 1, 2, 76.84661708733974, 55.071754455566406, NULL, 0.12468545900003392, NULL, NULL, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (25, 2, 'trial_finished', 1, NULL, NULL, NULL, NULL, NULL, 'COMPLETE', 55.071754455566406, NULL, NULL);
INSERT INTO public.adamtune_events VALUES (26, 2, 'study_status', NULL, NULL, NULL, NULL, NULL, NULL, 'completed', NULL, NULL, NULL);


--
-- Data for Name: adamtune_jobs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.adamtune_jobs VALUES (1, 'old-a', 'rosenbrock', '{"task": "rosenbrock", "n_trials": 3, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 1, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}', 3, NULL, NULL, 'completed', '2026-11-29 03:42:09.616638', '2026-11-29 03:42:12.388454', '2026-11-29 03:42:16.980799', 'vm:5749', NULL);
INSERT INTO public.adamtune_jobs VALUES (2, 'old-b', 'rosenbrock', '{"task": "rosenbrock", "n_trials": 2, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 2, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}', 2, NULL, NULL, 'completed', '2026-11-29 03:42:17.858495', '2026-11-29 03:42:18.084507', '2026-11-29 03:42:18.525021', 'vm:5749', NULL);


--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alembic_version VALUES ('v3.2.0.a');


--
-- Data for Name: studies; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.studies VALUES (1, 'old-a');
INSERT INTO public.studies VALUES (2, 'old-b');


--
-- Data for Name: study_directions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.study_directions VALUES (1, 'MINIMIZE', 1, 0);
INSERT INTO public.study_directions VALUES (2, 'MINIMIZE', 2, 0);


--
-- Data for Name: study_system_attributes; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: study_user_attributes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.study_user_attributes VALUES (1, 1, 'adamtune', '{"task": "rosenbrock", "n_trials": 3, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 1, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}');
INSERT INTO public.study_user_attributes VALUES (2, 2, 'adamtune', '{"task": "rosenbrock", "n_trials": 2, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 2, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}');


--
-- Data for Name: trial_heartbeats; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_heartbeats VALUES (1, 1, '2026-11-29 03:42:14.51685');
INSERT INTO public.trial_heartbeats VALUES (2, 2, '2026-11-29 03:42:16.486884');
INSERT INTO public.trial_heartbeats VALUES (3, 3, '2026-11-29 03:42:16.781692');
INSERT INTO public.trial_heartbeats VALUES (4, 4, '2026-11-29 03:42:18.095179');
INSERT INTO public.trial_heartbeats VALUES (5, 5, '2026-11-29 03:42:18.316862');


--
-- Data for Name: trial_intermediate_values; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_intermediate_values VALUES (1, 1, 1, 121.16603088378906, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (2, 1, 2, 87.97728729248047, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (3, 2, 1, 137.31643676757812, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (4, 2, 2, 116.8978500366211, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (5, 3, 1, 100.53113555908203, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (6, 3, 2, 55.07323455810547, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (7, 4, 1, 121.16551208496094, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (8, 4, 2, 87.97618103027344, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (9, 5, 1, 100.53044128417969, 'FINITE');
INSERT INTO public.trial_intermediate_values VALUES (10, 5, 2, 55.071754455566406, 'FINITE');


--
-- Data for Name: trial_params; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_params VALUES (1, 1, 'lr', 0.001, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO public.trial_params VALUES (2, 1, 'one_minus_beta1', 0.09999999999999998, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO public.trial_params VALUES (3, 1, 'one_minus_beta2', 0.0010000000000000009, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO public.trial_params VALUES (4, 1, 'eps', 1e-08, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO public.trial_params VALUES (5, 2, 'lr', 0.0005545996722241044, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO public.trial_params VALUES (6, 2, 'one_minus_beta1', 0.0011748275493088341, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO public.trial_params VALUES (7, 2, 'one_minus_beta2', 0.0015799738953572561, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO public.trial_params VALUES (8, 2, 'eps', 3.037939641491187e-07, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO public.trial_params VALUES (9, 3, 'lr', 0.0015965834028940295, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO public.trial_params VALUES (10, 3, 'one_minus_beta1', 0.08152104382202674, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO public.trial_params VALUES (11, 3, 'one_minus_beta2', 0.00014575348768900364, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO public.trial_params VALUES (12, 3, 'eps', 1.2207334401601307e-06, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO public.trial_params VALUES (13, 4, 'lr', 0.001, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO public.trial_params VALUES (14, 4, 'one_minus_beta1', 0.09999999999999998, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO public.trial_params VALUES (15, 4, 'one_minus_beta2', 0.0010000000000000009, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO public.trial_params VALUES (16, 4, 'eps', 1e-08, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO public.trial_params VALUES (17, 5, 'lr', 0.0015965834028940295, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO public.trial_params VALUES (18, 5, 'one_minus_beta1', 0.08152104382202674, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO public.trial_params VALUES (19, 5, 'one_minus_beta2', 0.00014575348768900364, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO public.trial_params VALUES (20, 5, 'eps', 1.2207334401601307e-06, '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');


--
-- Data for Name: trial_system_attributes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_system_attributes VALUES (1, 1, 'fixed_params', '{"lr": 0.001, "one_minus_beta1": 0.09999999999999998, "one_minus_beta2": 0.0010000000000000009, "eps": 1e-08}');
INSERT INTO public.trial_system_attributes VALUES (2, 4, 'fixed_params', '{"lr": 0.001, "one_minus_beta1": 0.09999999999999998, "one_minus_beta2": 0.0010000000000000009, "eps": 1e-08}');


--
-- Data for Name: trial_user_attributes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_user_attributes VALUES (1, 1, 'baseline', 'true');
INSERT INTO public.trial_user_attributes VALUES (2, 1, 'adam', '{"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0}');
INSERT INTO public.trial_user_attributes VALUES (3, 2, 'adam', '{"lr": 0.0005545996722241044, "beta1": 0.9988251724506911, "beta2": 0.9984200261046428, "eps": 3.037939641491187e-07, "weight_decay": 0.0}');
INSERT INTO public.trial_user_attributes VALUES (4, 3, 'adam', '{"lr": 0.0015965834028940295, "beta1": 0.9184789561779733, "beta2": 0.999854246512311, "eps": 1.2207334401601307e-06, "weight_decay": 0.0}');
INSERT INTO public.trial_user_attributes VALUES (5, 4, 'baseline', 'true');
INSERT INTO public.trial_user_attributes VALUES (6, 4, 'adam', '{"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0}');
INSERT INTO public.trial_user_attributes VALUES (7, 5, 'adam', '{"lr": 0.0015965834028940295, "beta1": 0.9184789561779733, "beta2": 0.999854246512311, "eps": 1.2207334401601307e-06, "weight_decay": 0.0}');


--
-- Data for Name: trial_values; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trial_values VALUES (1, 1, 0, 87.97728729248047, 'FINITE');
INSERT INTO public.trial_values VALUES (2, 2, 0, 116.8978500366211, 'FINITE');
INSERT INTO public.trial_values VALUES (3, 3, 0, 55.07323455810547, 'FINITE');
INSERT INTO public.trial_values VALUES (4, 4, 0, 87.97618103027344, 'FINITE');
INSERT INTO public.trial_values VALUES (5, 5, 0, 55.071754455566406, 'FINITE');


--
-- Data for Name: trials; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.trials VALUES (1, 0, 1, 'COMPLETE', '2026-11-29 03:42:12.343882', '2026-11-29 03:42:16.359796');
INSERT INTO public.trials VALUES (2, 1, 1, 'COMPLETE', '2026-11-29 03:42:16.448585', '2026-11-29 03:42:16.713012');
INSERT INTO public.trials VALUES (3, 2, 1, 'COMPLETE', '2026-11-29 03:42:16.756668', '2026-11-29 03:42:16.952005');
INSERT INTO public.trials VALUES (4, 0, 2, 'COMPLETE', '2026-11-29 03:42:18.074841', '2026-11-29 03:42:18.261356');
INSERT INTO public.trials VALUES (5, 1, 2, 'COMPLETE', '2026-11-29 03:42:18.296304', '2026-11-29 03:42:18.488366');


--
-- Data for Name: version_info; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.version_info VALUES (1, 12, '5.0.0');


--
-- Name: adamtune_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.adamtune_events_id_seq', 26, true);


--
-- Name: studies_study_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.studies_study_id_seq', 2, true);


--
-- Name: study_directions_study_direction_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.study_directions_study_direction_id_seq', 2, true);


--
-- Name: study_system_attributes_study_system_attribute_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.study_system_attributes_study_system_attribute_id_seq', 1, false);


--
-- Name: study_user_attributes_study_user_attribute_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.study_user_attributes_study_user_attribute_id_seq', 2, true);


--
-- Name: trial_heartbeats_trial_heartbeat_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_heartbeats_trial_heartbeat_id_seq', 5, true);


--
-- Name: trial_intermediate_values_trial_intermediate_value_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_intermediate_values_trial_intermediate_value_id_seq', 10, true);


--
-- Name: trial_params_param_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_params_param_id_seq', 20, true);


--
-- Name: trial_system_attributes_trial_system_attribute_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_system_attributes_trial_system_attribute_id_seq', 2, true);


--
-- Name: trial_user_attributes_trial_user_attribute_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_user_attributes_trial_user_attribute_id_seq', 7, true);


--
-- Name: trial_values_trial_value_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trial_values_trial_value_id_seq', 5, true);


--
-- Name: trials_trial_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.trials_trial_id_seq', 5, true);


--
-- Name: adamtune_events adamtune_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adamtune_events
    ADD CONSTRAINT adamtune_events_pkey PRIMARY KEY (id);


--
-- Name: adamtune_jobs adamtune_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adamtune_jobs
    ADD CONSTRAINT adamtune_jobs_pkey PRIMARY KEY (study_id);


--
-- Name: adamtune_jobs adamtune_jobs_study_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adamtune_jobs
    ADD CONSTRAINT adamtune_jobs_study_name_key UNIQUE (study_name);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: studies studies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.studies
    ADD CONSTRAINT studies_pkey PRIMARY KEY (study_id);


--
-- Name: study_directions study_directions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_directions
    ADD CONSTRAINT study_directions_pkey PRIMARY KEY (study_direction_id);


--
-- Name: study_directions study_directions_study_id_objective_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_directions
    ADD CONSTRAINT study_directions_study_id_objective_key UNIQUE (study_id, objective);


--
-- Name: study_system_attributes study_system_attributes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_system_attributes
    ADD CONSTRAINT study_system_attributes_pkey PRIMARY KEY (study_system_attribute_id);


--
-- Name: study_system_attributes study_system_attributes_study_id_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_system_attributes
    ADD CONSTRAINT study_system_attributes_study_id_key_key UNIQUE (study_id, key);


--
-- Name: study_user_attributes study_user_attributes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_user_attributes
    ADD CONSTRAINT study_user_attributes_pkey PRIMARY KEY (study_user_attribute_id);


--
-- Name: study_user_attributes study_user_attributes_study_id_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_user_attributes
    ADD CONSTRAINT study_user_attributes_study_id_key_key UNIQUE (study_id, key);


--
-- Name: trial_heartbeats trial_heartbeats_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_heartbeats
    ADD CONSTRAINT trial_heartbeats_pkey PRIMARY KEY (trial_heartbeat_id);


--
-- Name: trial_heartbeats trial_heartbeats_trial_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_heartbeats
    ADD CONSTRAINT trial_heartbeats_trial_id_key UNIQUE (trial_id);


--
-- Name: trial_intermediate_values trial_intermediate_values_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_intermediate_values
    ADD CONSTRAINT trial_intermediate_values_pkey PRIMARY KEY (trial_intermediate_value_id);


--
-- Name: trial_intermediate_values trial_intermediate_values_trial_id_step_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_intermediate_values
    ADD CONSTRAINT trial_intermediate_values_trial_id_step_key UNIQUE (trial_id, step);


--
-- Name: trial_params trial_params_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_params
    ADD CONSTRAINT trial_params_pkey PRIMARY KEY (param_id);


--
-- Name: trial_params trial_params_trial_id_param_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_params
    ADD CONSTRAINT trial_params_trial_id_param_name_key UNIQUE (trial_id, param_name);


--
-- Name: trial_system_attributes trial_system_attributes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_system_attributes
    ADD CONSTRAINT trial_system_attributes_pkey PRIMARY KEY (trial_system_attribute_id);


--
-- Name: trial_system_attributes trial_system_attributes_trial_id_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_system_attributes
    ADD CONSTRAINT trial_system_attributes_trial_id_key_key UNIQUE (trial_id, key);


--
-- Name: trial_user_attributes trial_user_attributes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_user_attributes
    ADD CONSTRAINT trial_user_attributes_pkey PRIMARY KEY (trial_user_attribute_id);


--
-- Name: trial_user_attributes trial_user_attributes_trial_id_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_user_attributes
    ADD CONSTRAINT trial_user_attributes_trial_id_key_key UNIQUE (trial_id, key);


--
-- Name: trial_values trial_values_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_values
    ADD CONSTRAINT trial_values_pkey PRIMARY KEY (trial_value_id);


--
-- Name: trial_values trial_values_trial_id_objective_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_values
    ADD CONSTRAINT trial_values_trial_id_objective_key UNIQUE (trial_id, objective);


--
-- Name: trials trials_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trials
    ADD CONSTRAINT trials_pkey PRIMARY KEY (trial_id);


--
-- Name: version_info version_info_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.version_info
    ADD CONSTRAINT version_info_pkey PRIMARY KEY (version_info_id);


--
-- Name: ix_adamtune_events_study_kind_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_adamtune_events_study_kind_id ON public.adamtune_events USING btree (study_id, kind, id);


--
-- Name: ix_adamtune_events_study_trial; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_adamtune_events_study_trial ON public.adamtune_events USING btree (study_id, trial_number);


--
-- Name: ix_adamtune_jobs_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_adamtune_jobs_status ON public.adamtune_jobs USING btree (status);


--
-- Name: ix_studies_study_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_studies_study_name ON public.studies USING btree (study_name);


--
-- Name: ix_trials_study_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_trials_study_id ON public.trials USING btree (study_id);


--
-- Name: adamtune_events adamtune_events_study_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.adamtune_events
    ADD CONSTRAINT adamtune_events_study_id_fkey FOREIGN KEY (study_id) REFERENCES public.adamtune_jobs(study_id) ON DELETE CASCADE;


--
-- Name: study_directions study_directions_study_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_directions
    ADD CONSTRAINT study_directions_study_id_fkey FOREIGN KEY (study_id) REFERENCES public.studies(study_id);


--
-- Name: study_system_attributes study_system_attributes_study_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_system_attributes
    ADD CONSTRAINT study_system_attributes_study_id_fkey FOREIGN KEY (study_id) REFERENCES public.studies(study_id);


--
-- Name: study_user_attributes study_user_attributes_study_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.study_user_attributes
    ADD CONSTRAINT study_user_attributes_study_id_fkey FOREIGN KEY (study_id) REFERENCES public.studies(study_id);


--
-- Name: trial_heartbeats trial_heartbeats_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_heartbeats
    ADD CONSTRAINT trial_heartbeats_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trial_intermediate_values trial_intermediate_values_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_intermediate_values
    ADD CONSTRAINT trial_intermediate_values_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trial_params trial_params_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_params
    ADD CONSTRAINT trial_params_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trial_system_attributes trial_system_attributes_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_system_attributes
    ADD CONSTRAINT trial_system_attributes_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trial_user_attributes trial_user_attributes_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_user_attributes
    ADD CONSTRAINT trial_user_attributes_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trial_values trial_values_trial_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trial_values
    ADD CONSTRAINT trial_values_trial_id_fkey FOREIGN KEY (trial_id) REFERENCES public.trials(trial_id);


--
-- Name: trials trials_study_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trials
    ADD CONSTRAINT trials_study_id_fkey FOREIGN KEY (study_id) REFERENCES public.studies(study_id);


--
-- PostgreSQL database dump complete
--


