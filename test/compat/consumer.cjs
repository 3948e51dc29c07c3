// A CommonJS consumer: boots a Nest app that uses the packed build, against REDIS_URL.
const { Module, Injectable, Controller, Get } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
require('reflect-metadata');
const kit = require('nestjs-llm-kit');
const { boot } = require('./scenario.cjs');

boot({ Module, Injectable, Controller, Get, NestFactory }, kit, 'cjs').catch((error) => {
  console.error(error);
  process.exit(1);
});
